// A small graphql-transport-ws client: one WebSocket for every subscription of the page,
// reconnecting with exponential backoff and jitter, and resubscribing on each new connection
// with the variables of that moment (so sinceVersion picks up where the page left off).

const PROTOCOL = "graphql-transport-ws";
const CLOSE_FORBIDDEN = 4403;
const KEEPALIVE_MS = 20_000; // a ping this often while connected
const PONG_TIMEOUT_MS = 10_000; // no answer by then: the connection is dead, start over

export class LiveConnection {
  /**
   * url: ws(s)://…/graphql; connectionParams(): the connection_init payload;
   * onState(state): "connecting" | "live" | "reconnecting" | "stopped";
   * onForbidden(): the server refused the token (close code 4403); the connection stops.
   */
  constructor({ url, connectionParams, onState, onForbidden, baseDelayMs = 500, maxDelayMs = 30_000 }) {
    Object.assign(this, { url, connectionParams, onState, onForbidden, baseDelayMs, maxDelayMs });
    this.subscriptions = new Set();
    this.byWireId = new Map();
    this.socket = null;
    this.attempt = 0;
    this.wireCounter = 0;
    this.retryTimer = null;
    this.keepAliveTimer = null;
    this.pongTimer = null;
    this.stopped = false;
    this.everLive = false;
    this.state = null;
  }

  start() {
    window.addEventListener("online", () => this.retryNow());
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stopKeepAlive();
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000, "bye");
    this.setState("stopped");
  }

  /**
   * Starts a subscription now (when connected) and again on every reconnection.
   * variables() is called at each (re)subscribe. sink: { next(payload), error(errors), complete() }.
   * Returns { restart(), unsubscribe() }; after an error or complete it stays off until restart().
   */
  subscribe(query, variables, sink) {
    const sub = { query, variables, sink, wireId: null, active: true };
    this.subscriptions.add(sub);
    if (this.state === "live") this.sendSubscribe(sub);
    return {
      restart: () => {
        sub.active = true;
        if (this.state === "live" && sub.wireId === null) this.sendSubscribe(sub);
      },
      unsubscribe: () => {
        sub.active = false;
        this.subscriptions.delete(sub);
        if (sub.wireId !== null) {
          this.send({ id: sub.wireId, type: "complete" });
          this.byWireId.delete(sub.wireId);
          sub.wireId = null;
        }
      },
    };
  }

  // -- the socket --------------------------------------------------------------------------

  open() {
    if (this.stopped) return;
    this.setState(this.everLive ? "reconnecting" : "connecting");
    let socket;
    try {
      socket = new WebSocket(this.url, PROTOCOL);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (socket === this.socket) this.send({ type: "connection_init", payload: this.connectionParams() });
    });
    socket.addEventListener("message", (event) => {
      if (socket === this.socket) this.receive(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (socket === this.socket) this.closed(event.code);
    });
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      this.drop();
      return;
    }
    clearTimeout(this.pongTimer); // any message proves the connection alive
    const sub = message.id === undefined ? null : this.byWireId.get(message.id);
    switch (message.type) {
      case "connection_ack":
        this.attempt = 0;
        this.everLive = true;
        this.setState("live");
        this.startKeepAlive();
        for (const each of this.subscriptions) if (each.active) this.sendSubscribe(each);
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      case "next":
        if (sub) sub.sink.next(message.payload);
        break;
      case "error":
        if (sub) {
          this.finish(sub);
          sub.sink.error(message.payload);
        }
        break;
      case "complete":
        if (sub) {
          this.finish(sub);
          sub.sink.complete?.();
        }
        break;
      default:
        break; // pong, or something newer than this client
    }
  }

  closed(code) {
    this.socket = null;
    this.stopKeepAlive();
    for (const sub of this.subscriptions) sub.wireId = null;
    this.byWireId.clear();
    if (code === CLOSE_FORBIDDEN) {
      this.stopped = true;
      this.setState("stopped");
      this.onForbidden?.();
      return;
    }
    this.scheduleRetry();
  }

  /** Gives up on the current socket at once (no closing handshake to wait for) and reconnects. */
  drop() {
    const socket = this.socket;
    if (!socket) return;
    this.closed(1006);
    try {
      socket.close(4000, "client gave up on this connection");
    } catch {
      // already closing
    }
  }

  scheduleRetry() {
    if (this.stopped) return;
    this.setState(this.everLive ? "reconnecting" : "connecting");
    this.attempt += 1;
    // Exponential backoff with "equal jitter": half fixed, half random, so that many pages
    // cut off together by one restart do not all come back in the same millisecond.
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (this.attempt - 1));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  retryNow() {
    if (this.stopped || this.socket) return;
    clearTimeout(this.retryTimer);
    this.open();
  }

  // -- messages ----------------------------------------------------------------------------

  sendSubscribe(sub) {
    this.wireCounter += 1;
    sub.wireId = String(this.wireCounter);
    this.byWireId.set(sub.wireId, sub);
    this.send({ id: sub.wireId, type: "subscribe", payload: { query: sub.query, variables: sub.variables() } });
  }

  finish(sub) {
    this.byWireId.delete(sub.wireId);
    sub.wireId = null;
    sub.active = false;
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  startKeepAlive() {
    this.stopKeepAlive();
    this.keepAliveTimer = setInterval(() => {
      this.send({ type: "ping" });
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.drop(), PONG_TIMEOUT_MS);
    }, KEEPALIVE_MS);
  }

  stopKeepAlive() {
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.pongTimer);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState?.(state);
  }
}
