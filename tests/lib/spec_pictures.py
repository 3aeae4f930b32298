"""The picture paths of services/gateway/openapi.yaml (x-weaver-pictures) against a running gateway with
real path parameters: each answers 200 with its documented content type, a JSON answer matches its schema.
  spec_pictures.py SPEC BASE TOKEN live CAMERA          (waits up to 30 s for the camera's first frame)
  spec_pictures.py SPEC BASE TOKEN evidence CAMERA TRACK CROP_FILE (the bytes served are the file's)"""
import json, sys, time, urllib.error, urllib.request
import yaml

import openapi_schema

spec_file, base, token, kind, camera = sys.argv[1:6]
spec = yaml.safe_load(open(spec_file))


def validate(v, s, where):
    openapi_schema.validate(spec, v, s, where)


def get(url):
    req = urllib.request.Request(base + url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            if not r.headers["Content-Type"].startswith("multipart/x-mixed-replace"):
                return r.status, r.headers, r.read()
            # A stream: its first two parts, then hang up.
            boundary = b"--" + r.headers["Content-Type"].split("boundary=")[1].encode()
            data = b""
            while data.count(boundary) < 3:
                chunk = r.read1(65536)
                assert chunk, f"GET {url}: the stream ended"
                data += chunk
            return r.status, r.headers, data
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


checked = []
for path, item in spec["paths"].items():
    op = item.get("get", {})
    if op.get("x-weaver-pictures") != kind:
        continue
    url = path.replace("{camera}", camera)
    if kind == "evidence":
        url = url.replace("{track}", sys.argv[6])
    ctype = next(iter(op["responses"]["200"]["content"]))
    deadline = time.time() + 30
    while True:
        code, headers, body = get(url)
        if code != 404 or kind != "live" or time.time() > deadline:
            break
        time.sleep(0.25)  # the camera's first frame
    assert code == 200, f"GET {url}: HTTP {code} {body[:200]!r}"
    assert headers["Content-Type"].startswith(ctype), f"GET {url}: {headers['Content-Type']}, expected {ctype}"
    if ctype == "application/json":
        live = json.loads(body)
        validate(live, op["responses"]["200"]["content"][ctype]["schema"], url)
        assert live["camera"] == int(camera) and live["width"] > 0 and live["jpeg_bytes"] > 0, live
        # The picture of that very frame, by the link the answer gives.
        code, headers, jpeg = get(live["snapshot"])
        assert code == 200 and jpeg[:3] == b"\xff\xd8\xff" and len(jpeg) == live["jpeg_bytes"], (code, len(jpeg))
        assert headers["X-Frame-Seq"] == str(live["seq"]), headers["X-Frame-Seq"]
    elif ctype.startswith("multipart/"):
        boundary = b"--" + headers["Content-Type"].split("boundary=")[1].encode()
        parts = body.split(boundary)[1:3]  # two whole parts: headers, blank line, JPEG, CRLF
        seqs = []
        for part in parts:
            head, _, jpeg = part.partition(b"\r\n\r\n")
            fields = dict(l.split(b": ", 1) for l in head.strip().split(b"\r\n"))
            assert fields[b"Content-Type"] == b"image/jpeg", fields
            jpeg = jpeg[:int(fields[b"Content-Length"])]
            assert jpeg[:3] == b"\xff\xd8\xff" and jpeg[-2:] == b"\xff\xd9", f"GET {url}: a part is not a whole JPEG"
            seqs.append(int(fields[b"X-Frame-Seq"]))
        assert seqs[0] < seqs[1], f"GET {url}: the second picture is not a newer frame: {seqs}"
    else:
        assert body[:3] == b"\xff\xd8\xff" and body[-2:] == b"\xff\xd9", f"GET {url}: not a whole JPEG"
        if kind == "evidence":
            assert body == open(sys.argv[7], "rb").read(), f"GET {url}: not the stored crop"
    checked.append(url)
assert checked, f"no {kind} picture path in the spec"
print(f"ok: {kind} picture paths of the spec answer 200 with their content type: {', '.join(checked)}")
