"""Background work on Dramatiq: the broker, the actors' runtime, and the actors.

Actors are thin: they open their own database session on the worker's event loop and call
the same services as the resolvers.
"""
