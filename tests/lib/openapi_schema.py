"""A JSON answer checked against a typed schema of services/gateway/openapi.yaml, for the shell tests
(gateway_http.sh, spec_pictures.py). Covers what the spec uses: $ref, allOf, nullable, type, enum,
required, properties, items, minItems and maxItems. Raises AssertionError naming the field."""


def resolve(spec, s):
    while "$ref" in s:
        node = spec
        for k in s["$ref"][2:].split("/"):
            node = node[k]
        s = node
    return s


def validate(spec, v, s, where):
    s = resolve(spec, s)
    if v is None:
        assert s.get("nullable"), f"{where}: null, not nullable"
        return
    for part in s.get("allOf", []):
        validate(spec, v, part, where)
    t = s.get("type", "object" if "properties" in s else None)
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}
    if t:
        assert isinstance(v, kinds[t]) and (t == "boolean" or not isinstance(v, bool)), f"{where}: {v!r} is not {t}"
    if "enum" in s:
        assert v in s["enum"], f"{where}: {v!r} not in {s['enum']}"
    if t == "object":
        for r in s.get("required", []):
            assert r in v, f"{where}: no field {r}"
        for k, ps in s.get("properties", {}).items():
            if k in v:
                validate(spec, v[k], ps, f"{where}.{k}")
    if t == "array":
        assert s.get("minItems", 0) <= len(v) <= s.get("maxItems", len(v)), f"{where}: {len(v)} items"
        for i, x in enumerate(v):
            validate(spec, x, s["items"], f"{where}[{i}]")
