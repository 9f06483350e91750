#!/usr/bin/python3
"""The event contract (queue/) against itself and against tiedoted.

  (a) the schemas are valid draft 2020-12 and every queue/examples file
      validates against the schema of its type;
  (b) every tests/data/good-events.json entry validates;
  (c) every bad-events entry marked "schema": true is rejected by the
      schemas, every one marked false is accepted by them (the flag says
      only tiedote's validator can catch it), and every one marked null is
      not even JSON;
  (d) if $TIEDOTE_BUILD/tiedoted exists: examples and good events are
      accepted, and every bad event gets the README's error code and field;
  (e) the url rule is one rule: the schema and tiedoted accept every good
      url of tests/data/urls.json and refuse every bad one.

Schemas are resolved from the local files only: a $ref that is not one of
queue/schema/*.json fails instead of being fetched over the network.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

import jsonschema  # noqa: E402
from jsonschema import Draft202012Validator  # noqa: E402

TYPES = ["deadline", "network_day", "event", "practice", "announcement", "news"]
SCHEMA_DIR = os.path.join(harness.QUEUE, "schema")
SCHEMA_BASE = "https://tiedote.invalid/queue/schema/"
# README section 4, the whole table.
CODES = {"malformed_json", "not_an_object", "too_large", "bad_frames", "missing_field",
         "unknown_field", "unknown_type", "invalid_type", "invalid_value", "invalid_time",
         "invalid_url", "invalid_region", "type_mismatch", "unavailable"}
# File-name prefix of queue/examples per type.
PREFIX = {t: t.replace("_", "-") + "-" for t in TYPES}
REQUIRED_EXAMPLES = ["deadline-valtionavustus-2020.json", "news-aluekoordinaattorit.json",
                     "network-day-2020-q2.json"]


def load_schemas():
    """{name: schema} for every queue/schema/*.json."""
    out = {}
    for name in sorted(os.listdir(SCHEMA_DIR)):
        if name.endswith(".json"):
            out[name[:-5]] = harness.load_json(os.path.join(SCHEMA_DIR, name))
    return out


def make_validators(schemas):
    """{type: validator}, with every $ref served from the local files."""
    store = {s["$id"]: s for s in schemas.values()}
    try:
        # jsonschema >= 4.18
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012
        registry = Registry().with_resources(
            [(uri, Resource.from_contents(s, default_specification=DRAFT202012))
             for uri, s in store.items()])
        return {t: Draft202012Validator(schemas[t], registry=registry) for t in TYPES}
    except ImportError:
        pass

    class OfflineResolver(jsonschema.RefResolver):
        def resolve_remote(self, uri):
            raise jsonschema.RefResolutionError("not a local schema: %s" % uri)

    return {t: Draft202012Validator(schemas[t], resolver=OfflineResolver.from_schema(
        schemas[t], store=dict(store))) for t in TYPES}


def strict_loads(data):
    """RFC 8259 JSON only (Python would otherwise accept NaN/Infinity)."""
    def no_constants(name):
        raise ValueError("not JSON: %s" % name)
    return json.loads(data.decode("utf-8"), parse_constant=no_constants)


def schema_errors(validators, event):
    """[(top-level field or None, message)] from the event's own type schema.
    A non-object or an unknown type gets one error saying no schema applies
    (the six type schemas are the whole set, so all of them reject it)."""
    if not isinstance(event, dict):
        errs = [list(v.iter_errors(event)) for v in validators.values()]
        return [] if any(not e for e in errs) else [(None, "not an object: rejected by every type schema")]
    t = event.get("type")
    if not isinstance(t, str) or t not in validators:
        accepted = [n for n, v in validators.items() if v.is_valid(event)]
        return [] if accepted else [("type", "type %r: rejected by every type schema" % (t,))]
    return [(e.absolute_path[0] if e.absolute_path else None,
             "%s: %s" % ("/".join(map(str, e.absolute_path)) or "(event)", e.message[:300]))
            for e in validators[t].iter_errors(event)]


def messages(errs):
    return "\n".join(m for _, m in errs)


def top_field(path):
    """'title.sv' -> 'title', 'regions[2]' -> 'regions'."""
    return path.split(".")[0].split("[")[0]


def url_event(u):
    return {"id": "url-check", "type": "news", "title": "Ohjelma alkaa", "regions": ["all"], "url": u}


def part_schema(r):
    schemas = load_schemas()
    r.check(sorted(schemas) == sorted(TYPES + ["common"]),
            "queue/schema has common.json and one schema per type", sorted(schemas))
    for name, s in schemas.items():
        try:
            Draft202012Validator.check_schema(s)
            ok, detail = True, None
        except jsonschema.SchemaError as e:
            ok, detail = False, e.message
        r.check(ok, "schema %s.json is valid draft 2020-12" % name, detail)
        r.check(s.get("$id") == SCHEMA_BASE + name + ".json", "schema %s.json has its $id" % name,
                s.get("$id"))
    validators = make_validators(schemas)

    # (a) examples
    examples = harness.examples()
    names = [n for n, _ in examples]
    for req in REQUIRED_EXAMPLES:
        r.check(req in names, "example %s exists" % req)
    r.check(sum(n.startswith("network-day-") for n in names) >= 4, "at least four network-day examples")
    for t in TYPES:
        r.check(any(n.startswith(PREFIX[t]) for n in names), "an example of type %s" % t)
    ids = []
    for name, data in examples:
        try:
            ev = strict_loads(data)
        except ValueError as e:
            r.check(False, "example %s is JSON" % name, e)
            continue
        ids.append(ev.get("id"))
        r.check(name.startswith(PREFIX.get(ev.get("type"), "?")),
                "example %s: file name matches type %r" % (name, ev.get("type")))
        errs = schema_errors(validators, ev)
        r.check(not errs, "example %s validates against its schema" % name, messages(errs))
    r.check(len(ids) == len(set(ids)), "example ids are unique", ids)

    # (b) good events
    good = harness.corpus("good")
    for g in good:
        try:
            errs = schema_errors(validators, strict_loads(harness.event_bytes(g)))
        except (ValueError, RecursionError) as e:
            errs = [(None, "not JSON: %s" % e)]
        r.check(not errs, "good event validates: %s" % g["name"], messages(errs))

    # (e) one url rule: the schema's url definition accepts exactly the
    # good urls of tests/data/urls.json (the worker is asked in part_worker)
    urls = harness.load_json(os.path.join(harness.ROOT, "tests", "data", "urls.json"))
    url_schema = dict(schemas["common"]["$defs"]["url"])
    uv = Draft202012Validator(url_schema)
    r.check(len(urls["good"]) > 10 and len(urls["bad"]) > 30, "urls.json has good and bad urls")
    wrong = [u for u in urls["good"] if not uv.is_valid(u)]
    r.check(not wrong, "the schema accepts every good url", wrong)
    wrong = [u for u in urls["bad"] if uv.is_valid(u)]
    r.check(not wrong, "the schema refuses every bad url", wrong)
    for u in urls["good"] + urls["bad"]:
        errs = schema_errors(validators, url_event(u))
        r.check(bool(errs) == (u in urls["bad"]) and all(f == "url" for f, _ in errs),
                "a news event's schema judges its url as urls.json does: %r" % u[:80],
                messages(errs))

    # (c) bad events
    bad = harness.corpus("bad")
    for b in bad:
        r.check(b.get("code") in CODES, "bad event %r names a README error code" % b["name"], b.get("code"))
        expect = b.get("schema")
        data = harness.event_bytes(b)
        try:
            ev = strict_loads(data)
            parsed = True
        except (ValueError, RecursionError):
            parsed = False
        if expect is None:
            r.check(not parsed, "bad event is not strict JSON (schema n/a): %s" % b["name"])
            continue
        if not parsed:
            r.check(False, "bad event parses as JSON for the schema check: %s" % b["name"])
            continue
        errs = schema_errors(validators, ev)
        if not expect:
            r.check(not errs, "schema accepts (only tiedote can reject) bad event: %s" % b["name"],
                    messages(errs))
            continue
        # Rejected, and for the intended reason: for errors about one field
        # the schema must complain about that field, not something incidental.
        if b["code"] in ("missing_field", "unknown_field", "unknown_type", "not_an_object") \
                or not b.get("field"):
            ok = bool(errs)
        else:
            # None: a rule across fields (send_at with in_bulletin) that the
            # schema can only state at the event's root.
            ok = any(f in (top_field(b["field"]), None) for f, _ in errs)
        r.check(ok, "schema rejects bad event: %s" % b["name"], messages(errs) or "accepted")
    return good, bad


def reply_summary(reply):
    return json.dumps(reply, ensure_ascii=False)[:300]


def part_worker(r, good, bad):
    import producer  # needs zmq; only imported when there is a worker to talk to

    if not harness.have_tiedoted():
        r.skip("(d) tiedoted checks", "%s does not exist" % harness.tiedoted_path())
        return
    d = harness.Tiedoted()
    try:
        d.start()
    except RuntimeError as e:
        r.check(False, "tiedoted starts and listens", e)
        return

    def send(data, what):
        """One request; restarts a worker that died so one crash does not
        turn every later check into a timeout."""
        try:
            return producer.send(d.endpoint, data, timeout=2.5, total=60)
        except (producer.GiveUp, producer.ProtocolError) as e:
            r.check(False, "tiedoted replies to %s" % what, "%s\n%s" % (e, d.log_tail()))
            return None
        finally:
            if not d.running():
                r.check(False, "tiedoted survives %s" % what, d.log_tail())
                d.start()

    for name, data in harness.examples():
        ev_id = json.loads(data).get("id")
        rep = send(data, "example " + name)
        if rep is not None:
            r.check(rep == {"status": "ok", "id": ev_id, "revision": 1},
                    "tiedoted stores example %s as revision 1" % name, reply_summary(rep))
        rep = send(data, "example %s again" % name)
        if rep is not None:
            r.check(rep == {"status": "duplicate", "id": ev_id, "revision": 1},
                    "tiedoted answers duplicate to example %s sent again" % name, reply_summary(rep))

    for g in good:
        rep = send(harness.event_bytes(g), "good event " + g["name"])
        if rep is not None:
            r.check(rep.get("status") == "ok" and rep.get("revision") == 1,
                    "tiedoted accepts good event: %s" % g["name"], reply_summary(rep))

    # (e) the worker judges every url of tests/data/urls.json as the schema does
    urls = harness.load_json(os.path.join(harness.ROOT, "tests", "data", "urls.json"))
    for i, u in enumerate(urls["good"] + urls["bad"]):
        ev = dict(url_event(u), id="url-check-%d" % i)
        rep = send(json.dumps(ev, ensure_ascii=False).encode("utf-8"), "url %r" % u[:60])
        if rep is None:
            continue
        if u in urls["good"]:
            r.check(rep.get("status") == "ok", "tiedoted accepts good url %r" % u[:80],
                    reply_summary(rep))
        else:
            r.check(rep.get("status") == "error" and rep.get("code") == "invalid_url" and
                    rep.get("field") == "url", "tiedoted refuses bad url %r (invalid_url)" % u[:80],
                    reply_summary(rep))

    unnamed = []
    for b in bad:
        rep = send(harness.event_bytes(b), "bad event " + b["name"])
        if rep is None:
            continue
        want_field = b.get("field")
        ok = (rep.get("status") == "error" and rep.get("code") == b["code"]
              and rep.get("field") == want_field
              # README: "field ... absent when not about one field"
              and (want_field is not None or "field" not in rep))
        detail = "want code=%s field=%s\ngot  %s" % (b["code"], want_field, reply_summary(rep))
        if b.get("note"):
            detail += "\nnote: " + b["note"]
        r.check(ok, "tiedoted rejects bad event: %s" % b["name"], detail)
        # README: "a human message that names the field"
        if ok and want_field and want_field not in str(rep.get("message", "")):
            unnamed.append("%s: %r" % (want_field, rep.get("message")))
    r.check(not unnamed, "every error message names its field", "\n".join(unnamed[:20]))

    rc = d.stop()
    r.check(rc == 0, "tiedoted exits 0 on SIGTERM", "exit code %s\n%s" % (rc, d.log_tail()))


def body(r):
    good, bad = part_schema(r)
    part_worker(r, good, bad)


if __name__ == "__main__":
    harness.main(body)
