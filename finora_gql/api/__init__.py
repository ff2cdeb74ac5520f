"""The GraphQL kit every domain's schema uses: payload errors, connections, node ids, selections and
live streams; and the server's transport pieces: the websocket protocol and the execution fast path."""
