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

  // What a first visit shows: a query to run, and how to send the token.
  var SAMPLE = [
    "# Welcome to Finora GraphQL.",
    "#",
    "# 1. Sign up or sign in with the mutations below (run one with the ▶ button).",
    "# 2. Copy the accessToken into the Headers tab below, as",
    "#      {\"Authorization\": \"Bearer <accessToken>\"}",
    "#    Then queries like `me` and `transactions` answer for you (15 minutes; refreshToken renews).",
    "",
    "mutation SignIn {",
    "  login(input: {email: \"ann@example.com\", password: \"correct horse battery\"}) {",
    "    accessToken",
    "    refreshToken",
    "    errors { code field message }",
    "  }",
    "}",
    "",
    "query Me {",
    "  me { id email name baseCurrency }",
    "  accounts { id name currency currentBalance }",
    "}",
    "",
  ].join("\n");

  // ?query= (and ?variables=, ?operationName=) links open with that operation; edits keep the
  // address up to date, so the address bar is a link to share.
  var params = new URLSearchParams(window.location.search);
  function remember(name) {
    return function (value) {
      var next = new URLSearchParams(window.location.search);
      if (value) next.set(name, value); else next.delete(name);
      var search = next.toString();
      window.history.replaceState(null, "", window.location.pathname + (search ? "?" + search : ""));
    };
  }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: SAMPLE,
      query: params.get("query") || undefined,
      variables: params.get("variables") || undefined,
      operationName: params.get("operationName") || undefined,
      onEditQuery: remember("query"),
      onEditVariables: remember("variables"),
      onEditOperationName: remember("operationName"),
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: true,
    })
  );
})();
