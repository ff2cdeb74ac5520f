// The built-in pages behind the links in emails. Kept out of the HTML so the
// Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  var ERRORS = "errors { code field message }";
  var page = document.body.getAttribute("data-page");
  var token = new URLSearchParams(window.location.search).get("token") || "";
  // The token has been read: take it out of the address bar (and of the history).
  if (token) window.history.replaceState(null, "", window.location.pathname);

  function graphql(query, variables) {
    return fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: query, variables: variables }),
    }).then(function (response) { return response.json(); });
  }

  function say(id, text, ok) {
    var element = document.getElementById(id);
    element.textContent = text;
    element.className = ok ? "ok" : "error";
  }

  function firstError(payload, body) {
    if (payload && payload.errors && payload.errors.length) return payload.errors[0].message;
    if (body && body.errors && body.errors.length) return body.errors[0].message;
    return null;
  }

  function offerSignIn(email) {
    document.getElementById("sign-in").hidden = false;
    if (email) document.getElementById("email").value = email;
    document.getElementById("sign-in-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = {
        email: document.getElementById("email").value,
        password: document.getElementById("password").value,
      };
      graphql("mutation($input: LoginInput!) { login(input: $input) { user { email name } " + ERRORS + " } }",
              { input: input })
        .then(function (body) {
          var payload = body.data && body.data.login;
          var problem = firstError(payload, body);
          if (problem) return say("sign-in-status", problem, false);
          say("sign-in-status", "Signed in as " + payload.user.email + ". You can close this page.", true);
        })
        .catch(function () { say("sign-in-status", "The server could not be reached; try again.", false); });
    });
  }

  if (page === "verify-email") {
    if (!token) {
      say("status", "This link has no token. Open the link from the email again.", false);
      return;
    }
    graphql("mutation($input: VerifyEmailInput!) { verifyEmail(input: $input) { user { email } " + ERRORS + " } }",
            { input: { token: token } })
      .then(function (body) {
        var payload = body.data && body.data.verifyEmail;
        var problem = firstError(payload, body);
        if (problem) return say("status", problem, false);
        say("status", "Your email address " + payload.user.email + " is confirmed.", true);
        offerSignIn(payload.user.email);
      })
      .catch(function () { say("status", "The server could not be reached; reload the page to try again.", false); });
  }

  if (page === "reset-password") {
    if (!token) {
      say("status", "This link has no token. Open the link from the email again.", false);
      document.getElementById("reset-form").hidden = true;
      return;
    }
    document.getElementById("reset-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = { token: token, newPassword: document.getElementById("new-password").value };
      graphql("mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { user { email } " + ERRORS + " } }",
              { input: input })
        .then(function (body) {
          var payload = body.data && body.data.resetPassword;
          var problem = firstError(payload, body);
          if (problem) return say("status", problem, false);
          document.getElementById("reset-form").hidden = true;
          say("status", "Your password was changed. Sign in with the new one.", true);
          offerSignIn(payload.user.email);
        })
        .catch(function () { say("status", "The server could not be reached; try again.", false); });
    });
  }
})();
