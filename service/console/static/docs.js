// Swagger UI for /docs: the spec is fetched with the key the user typed (kept in memory only), and every "Try it out"
// request carries it as X-API-Key. No inline script: the page's Content-Security-Policy allows scripts from this origin only.
(function () {
  var form = document.getElementById("docs-key");
  var input = document.getElementById("docs-api-key");
  var error = document.getElementById("docs-error");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var key = input.value.trim();
    fetch("/openapi.json", { headers: { "X-API-Key": key }, credentials: "omit" })
      .then(function (r) {
        if (!r.ok) { throw new Error(r.status === 401 ? "That API key is not valid." : "The API docs could not be loaded (" + r.status + ")."); }
        return r.json();
      })
      .then(function (spec) {
        form.hidden = true;
        var ui = window.SwaggerUIBundle({
          spec: spec,
          dom_id: "#swagger",
          requestInterceptor: function (req) { req.headers["X-API-Key"] = key; return req; },
          onComplete: function () {
            try { ui.preauthorizeApiKey("ApiKey", key); } catch (e) { /* the interceptor sends the key anyway */ }
          }
        });
      })
      .catch(function (e) { error.textContent = e.message; error.hidden = false; input.focus(); });
  });
})();
