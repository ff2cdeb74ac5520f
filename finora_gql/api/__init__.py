"""The GraphQL kit every domain's schema uses: errors, payload helpers, node ids."""
