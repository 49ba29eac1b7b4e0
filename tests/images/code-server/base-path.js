// Serves an app that lives at / under a base path: requests (and websockets) below the base
// path reach the app with the base path removed; the base path alone gets its trailing slash
// (the app's URLs are relative); anything else is 404.
const http = require("http");
const httpProxy = require("/opt/code-server/node_modules/http-proxy");

const [host, port, base, upstreamPort] = process.argv.slice(2);
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstreamPort}`, ws: true, xfwd: false });
proxy.on("error", (err, req, res) => {
  if (res.writeHead) {
    res.writeHead(502, { "Content-Type": "text/plain" });
    res.end(`code-server did not answer: ${err.message}`);
  } else {
    res.destroy();
  }
});

// The request's path below the base path, or null when it is not below it.
function below(url) {
  if (url !== base && !url.startsWith(`${base}/`) && !url.startsWith(`${base}?`)) return null;
  return url.slice(base.length);
}

const server = http.createServer((req, res) => {
  const rest = below(req.url);
  if (rest === null) {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end(`Not found: this app serves ${base}/`);
  } else if (rest === "" || rest.startsWith("?")) {
    res.writeHead(302, { Location: `${base}/${rest}` });
    res.end();
  } else {
    req.url = rest;
    proxy.web(req, res);
  }
});
server.on("upgrade", (req, socket, head) => {
  const rest = below(req.url);
  if (!rest) return socket.destroy();
  req.url = rest;
  proxy.ws(req, socket, head);
});
server.listen(Number(port), host);
