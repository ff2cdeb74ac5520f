// Starts GraphiQL from the data- attributes of #graphiql; kept out of the page so the
// Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var httpUrl = new URL(root.getAttribute("data-endpoint"), window.location.href);
  var wsUrl = new URL(root.getAttribute("data-subscription-endpoint"), window.location.href);
  if (wsUrl.protocol === "https:") wsUrl.protocol = "wss:";
  else if (wsUrl.protocol === "http:") wsUrl.protocol = "ws:";

  // Subscriptions authenticate once, in `connection_init`, with the headers from the
  // Headers editor (GraphiQL hands them to the fetcher on every run). One lazy client per
  // distinct set of headers: the socket opens on the first subscription and closes when
  // the last one ends, so a changed token never rides an old connection.
  function connectionParams(headers) {
    var params = {};
    Object.keys(headers || {}).forEach(function (name) {
      params[name] = headers[name];
      if (name.toLowerCase() === "authorization") params.authorization = headers[name];
    });
    return params;
  }
  var fetchers = {};
  function fetcherFor(headers) {
    var key = JSON.stringify(headers || {});
    if (!fetchers[key]) {
      fetchers[key] = GraphiQL.createFetcher({
        url: httpUrl.toString(),
        wsClient: graphqlWs.createClient({
          url: wsUrl.toString(),
          lazy: true,
          connectionParams: connectionParams(headers),
        }),
      });
    }
    return fetchers[key];
  }
  function fetcher(graphQLParams, opts) {
    return fetcherFor(opts && opts.headers)(graphQLParams, opts);
  }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: true,
    })
  );
})();
