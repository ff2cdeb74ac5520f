// Starts GraphiQL from the data- attributes of #graphiql; kept out of the page so the
// Content-Security-Policy can forbid inline scripts.
(function () {
  var root = document.getElementById("graphiql");
  var endpoint = new URL(root.dataset.endpoint, window.location.href);
  var wsUrl = new URL(root.dataset.subscriptionEndpoint, window.location.href);
  wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
  var headersFrom = function () {
    try { return JSON.parse(localStorage.getItem("graphiql:headers") || "{}"); } catch (e) { return {}; }
  };
  var fetcher = GraphiQL.createFetcher({
    url: endpoint.toString(),
    wsClient: graphqlWs.createClient({
      url: wsUrl.toString(),
      lazy: true,
      connectionParams: function () {
        var headers = headersFrom();
        var auth = headers.Authorization || headers.authorization;
        return auth ? { authorization: auth } : {};
      },
    }),
  });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      shouldPersistHeaders: true,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: true,
    })
  );
})();
