#!/usr/bin/env python3
"""Publish to sio-server from Python with the standard library only (urllib).

    from sio_publish import SioServer
    sio = SioServer("http://127.0.0.1:3000", token="s3cret")
    sio.emit("news", {"title": "hello"}, rooms=["london"])       # POST /api/emit
    sio.batch([{"event": "tick", "args": [1]}, {"event": "tick", "args": [2]}])
    sio.join(rooms=["user:42"], room="vip")                       # POST /api/sockets/join
    print(sio.sockets(room="vip"), sio.rooms())

As a command (used by the tests and docs/server.md):
    sio_publish.py URL TOKEN emit EVENT [ARGS_JSON] [--rooms a,b] [--except c] [--nsp /x]
    sio_publish.py URL TOKEN batch FILE_OR_JSON
    sio_publish.py URL TOKEN sockets [ROOM] | rooms
It prints the server's JSON answer and exits 0 on 2xx, 1 otherwise (the answer says why).
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


class SioError(Exception):
    """A non-2xx answer: .status, .body (the server's JSON: error and reason)."""

    def __init__(self, status, body):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class SioServer:
    def __init__(self, url, token, timeout=10):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                return json.loads(res.read() or b"null")
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                detail = json.loads(text)
            except ValueError:
                detail = text.decode(errors="replace")
            raise SioError(e.code, detail) from None

    @staticmethod
    def _selection(nsp, rooms, except_, **extra):
        body = {"nsp": nsp}
        if rooms:
            body["rooms"] = rooms
        if except_:
            body["except"] = except_
        body.update({k: v for k, v in extra.items() if v is not None})
        return body

    def emit(self, event, *args, rooms=None, except_=None, nsp="/", volatile=False):
        body = self._selection(nsp, rooms, except_, event=event, args=list(args))
        if volatile:
            body["volatile"] = True
        return self._call("POST", "/api/emit", body)

    def batch(self, emits):
        return self._call("POST", "/api/batch", list(emits))

    def join(self, room, rooms=None, except_=None, nsp="/"):
        return self._call("POST", "/api/sockets/join", self._selection(nsp, rooms, except_, room=room))

    def leave(self, room, rooms=None, except_=None, nsp="/"):
        return self._call("POST", "/api/sockets/leave", self._selection(nsp, rooms, except_, room=room))

    def disconnect(self, rooms=None, except_=None, nsp="/", close=False):
        return self._call("POST", "/api/sockets/disconnect",
                          self._selection(nsp, rooms, except_, close=close))

    def sockets(self, room=None, nsp="/"):
        q = urllib.parse.urlencode({k: v for k, v in {"nsp": nsp, "room": room}.items() if v})
        return self._call("GET", "/api/sockets?" + q)

    def rooms(self, nsp="/"):
        return self._call("GET", "/api/rooms?" + urllib.parse.urlencode({"nsp": nsp}))


def _opt(argv, name):
    if name in argv:
        i = argv.index(name)
        value = argv[i + 1]
        del argv[i:i + 2]
        return value.split(",") if name != "--nsp" else value
    return None


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    url, token, cmd, rest = argv[1], argv[2], argv[3], argv[4:]
    sio = SioServer(url, token)
    rooms, except_, nsp = _opt(rest, "--rooms"), _opt(rest, "--except"), _opt(rest, "--nsp") or "/"
    try:
        if cmd == "emit":
            args = json.loads(rest[1]) if len(rest) > 1 else []
            out = sio.emit(rest[0], *args, rooms=rooms, except_=except_, nsp=nsp)
        elif cmd == "batch":
            text = rest[0]
            if not text.lstrip().startswith("["):
                with open(text) as f:
                    text = f.read()
            out = sio.batch(json.loads(text))
        elif cmd == "sockets":
            out = sio.sockets(room=rest[0] if rest else None, nsp=nsp)
        elif cmd == "rooms":
            out = sio.rooms(nsp=nsp)
        else:
            print(f"unknown command {cmd}", file=sys.stderr)
            return 2
    except SioError as e:
        print(json.dumps({"status": e.status, "body": e.body}))
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
