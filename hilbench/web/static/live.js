// The live page: the server sends the whole live panel as HTML whenever a record arrives (server-sent events).
(function () {
  const panel = document.getElementById("live");
  const status = document.getElementById("stream-status");
  const source = new EventSource("/live/events");
  source.onmessage = function (event) {
    panel.innerHTML = event.data;
    status.textContent = "connected, updated " + new Date().toLocaleTimeString();
  };
  source.onerror = function () {
    status.textContent = "connection lost; reconnecting";
  };
})();
