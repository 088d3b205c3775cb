"""The alert a security engineer reads at 3 a.m.: who, which key, what was (and was NOT) done, what the key did.

Input: the execution's state after the per-key Map (`event`, with `keys` holding each key's step results,
where a failed step's result is the Step Functions error `{"Error", "Cause"}`) and the execution ARN.
Output: subject, message (plain text, then the same as JSON) and whether the response is incomplete, in
which case the workflow publishes the alert and then ends FAILED.
"""
from __future__ import annotations

import json
import os
from typing import Any

from common.handler import lambda_handler

from .model import EVENT_CODES

SUBJECT_LIMIT = 100                     # SNS: at most 100 printable ASCII characters, no line breaks
JSON_MARKER = "--- machine-readable (JSON) ---"
STEPS = ("disable", "quarantine", "revoke", "activity")


def failure(result: Any) -> str | None:
    """'Error: message' when the step failed (Step Functions put its error there), else None."""
    if not isinstance(result, dict) or "Error" not in result:
        return None
    cause = result.get("Cause") or ""
    try:
        cause = json.loads(cause).get("errorMessage", cause)
    except (ValueError, AttributeError):
        pass
    return f"{result['Error']}: {str(cause)[:300]}"


def disable_line(key: str, user: str | None, result: Any, action: str) -> tuple[str, str | None]:
    """(what happened to the key, the act-now instruction if something was not done)."""
    error = failure(result)
    if error or not isinstance(result, dict):
        how = (f"aws iam update-access-key --user-name {user} --access-key-id {key} --status Inactive"
               if user else f"find the owner: aws iam get-access-key-last-used --access-key-id {key}")
        return f"key NOT disabled - act now ({error or 'step did not run'})", f"disable {key} now: {how}"
    status = result.get("status")
    if status == "deactivated":
        return f"DEACTIVATED (was {result.get('was')}); kept, inactive, for forensics - delete it afterwards", None
    if status == "deleted":
        return f"DELETED (was {result.get('was')})", None
    if status == "already-inactive" and result.get("afterRetry"):
        return ("INACTIVE - found inactive when this step was retried: its earlier attempt (which timed out) most "
                "likely deactivated it"), None
    if status == "already-inactive":
        return "already inactive - unchanged (disabled by an earlier run or by someone)", None
    return f"not found - nothing to disable: {result.get('detail', '')}", None


def policy_line(name: str, result: Any, done: str, already: str) -> tuple[str, str | None]:
    error = failure(result)
    if error:
        return f"{name} NOT applied ({error})", f"apply the {name} by hand"
    status = result.get("status") if isinstance(result, dict) else None
    if status in ("attached", "revoked"):
        return done.format(**result), None
    if status in ("already-attached", "already-revoked"):
        return already.format(**result), None
    return f"{name}: not applied - {result.get('detail', 'no user') if isinstance(result, dict) else 'did not run'}", None


def activity_lines(result: Any) -> tuple[list[str], str | None]:
    error = failure(result)
    if error:
        return [f"activity NOT summarised ({error})"], "look the key up in the CloudTrail console (Event history, filter Access key)"
    if not isinstance(result, dict) or "events" not in result:
        return [f"activity not looked up: {result.get('skipped', 'no result') if isinstance(result, dict) else 'no result'}"], None
    window = result["window"]
    head = (f"CloudTrail {', '.join(result['regions'])}, last {window['hours']} h "
            f"({window['start'][:19]}Z to {window['end'][:19]}Z):")
    if not result["events"]:
        return [head, "  no events recorded for this key in the window (CloudTrail delivers within ~15 min)"], None
    more = ("" if result["complete"] else
            " - stopped before the function's time limit, there are more" if result.get("stopped") == "time" else
            f" - stopped at {result['limit']}, there are more")

    def top(counts: dict, total: int | None = None) -> str:
        shown = ", ".join(f"{k} ({v})" for k, v in list(counts.items())[:10])
        hidden = (total or len(counts)) - min(10, len(counts))
        return shown + (f", +{hidden} more" if hidden > 0 else "")

    lines = [head,
             f"  {result['events']} events{more}; {result['writes']} writes; first {result['firstSeen']}, "
             f"last {result['lastSeen']}",
             f"  source IPs: {top(result['sourceIps'], result['sourceIpsTotal']) or 'none recorded'}",
             f"  calls: {top(result['byEventName'], result['eventNamesTotal'])}",
             f"  services: {top(result['byEventSource'])}"]
    if result["resources"]:
        lines.append(f"  resources touched: {top(result['resources'], result['resourcesTotal'])}")
    if result["errors"]:
        lines.append(f"  failed calls: {top(result['errors'])}")
    return lines, None


# The steps a setting turns on: (setting, report label, result key, what it is, done text, unchanged text).
OPTIONAL_STEPS = (
    ("quarantine", "quarantine", "quarantine", "quarantine policy",
     "AWSCompromisedKeyQuarantineV3 attached to {user}",
     "AWSCompromisedKeyQuarantineV3 already attached to {user} - unchanged"),
    ("revokeSessions", "sessions", "revoke", "session revocation",
     "temporary credentials of {user} issued before {cutoff} denied ({policyName})",
     "already denied before {cutoff} - unchanged"),
)


def key_report(item: dict, config: dict) -> dict:
    key = str(item.get("accessKeyId") or "(no key id in the event)")
    disable = item.get("disable")
    user = next((r.get("user") for r in (item.get(s) for s in STEPS) if isinstance(r, dict) and r.get("user")), None)
    done, act_now = [], []
    line, todo = disable_line(key, user, disable, config["action"])
    done.append(f"key: {line}")
    act_now += [todo] if todo else []
    for setting, label, step, what, did, unchanged in OPTIONAL_STEPS:
        if config[setting]:
            line, todo = policy_line(what, item.get(step), did, unchanged)
            done.append(f"{label}: {line}")
            act_now += [todo] if todo else []
    activity, todo = activity_lines(item.get("activity"))
    act_now += [todo] if todo else []
    retried = isinstance(disable, dict) and bool(disable.get("afterRetry"))
    changed = retried or any(isinstance(item.get(s), dict) and item[s].get("changed") for s in STEPS)
    status = disable.get("status") if isinstance(disable, dict) else None
    if retried:
        status = "inactive"
    return {"accessKeyId": key, "user": user, "failed": bool(act_now), "changed": changed, "keyStatus": status,
            "done": done, "activityText": activity, "actNow": act_now,
            "steps": {s: item.get(s) for s in STEPS if s in item}}


def subject_for(outcome: str, keys: list[dict], action: str) -> str:
    """What happened first, then the key and its user: a long user name is what gets cut at 100 characters."""
    def who(k: dict) -> str:
        return f"{k['accessKeyId']} ({k['user']})" if k["user"] else k["accessKeyId"]
    verb = {"deactivate": "deactivated", "delete": "deleted"}[action]
    if outcome == "failed":
        undisabled = [k for k in keys if k["keyStatus"] is None]
        text = (f"FAILED: key NOT disabled - act now: {who(undisabled[0])}" if len(undisabled) == 1 else
                f"FAILED: {len(undisabled)} keys NOT disabled - act now" if undisabled else
                "FAILED: response incomplete - act now" if keys else "FAILED: no access key in the event - act now")
    elif len(keys) == 1:
        k = keys[0]
        text = {"deactivated": f"exposed key deactivated: {who(k)}", "deleted": f"exposed key deleted: {who(k)}",
                "already-inactive": f"exposed key already inactive, nothing changed: {who(k)}",
                "inactive": f"exposed key inactive: {who(k)}",
                "not-found": f"exposed key not found: {k['accessKeyId']}"}.get(k["keyStatus"], f"key {who(k)}")
    else:
        text = (f"{len(keys)} exposed keys already disabled, nothing changed" if outcome == "unchanged" else
                f"{len(keys)} exposed keys {verb} or already disabled")
    subject = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in
                      f"opsflows SECURITY{' ' if outcome == 'failed' else ': '}{text}")
    return subject[:SUBJECT_LIMIT]


def compose(state: dict, execution: str, config: dict) -> dict:
    detail = state.get("detail") if isinstance(state.get("detail"), dict) else {}
    code = detail.get("eventTypeCode", "?")
    keys = [key_report(item, config) for item in state.get("keys") or []]
    unhandled = not_handled(state)
    if not keys or unhandled or any(k["failed"] for k in keys):
        outcome = "failed"
    elif not any(k["changed"] for k in keys):
        outcome = "unchanged"
    else:
        outcome = "contained"

    lines = [f"AWS Health {code}: {EVENT_CODES.get(code, 'a credential risk event')}.",
             f"Health event {detail.get('eventArn', '?')}, delivered {state.get('time', '?')}, "
             f"account {state.get('account', '?')}.", ""]
    if outcome == "failed":
        lines += ["ACT NOW - the automated response did NOT complete:"]
        lines += [f"  * {todo}" for k in keys for todo in k["actNow"]] + [f"  * {todo}" for todo in unhandled] or [
            "  * the event names no access key: open it in the AWS Health Dashboard and disable the key by hand"]
        lines.append("")
    elif outcome == "unchanged":
        lines += ["Nothing changed: every key was already handled (this event was delivered before, or someone "
                  "acted already).", ""]
    for k in keys:
        lines.append(f"== {k['accessKeyId']} (user {k['user'] or 'unknown'}) ==")
        lines += ["What was done:", *(f"  - {d}" for d in k["done"]), "What the key did:",
                  *(f"  {a}" for a in k["activityText"]), ""]
    if outcome != "failed":
        lines += ["Next steps:",
                  "  1. Find what legitimately uses the key and give it a new one (never re-enable the exposed key).",
                  "  2. Review the write calls and resources above; remove what the key's user did not create "
                  "(new users, keys, roles, instances).",
                  "  3. Remove the key from wherever it was exposed, and from its history.", ""]
    lines.append(f"Execution: {execution}")
    document = {"workflow": "credentials", "outcome": outcome, "execution": execution,
                "event": {"code": code, "arn": detail.get("eventArn"), "time": state.get("time"),
                          "id": state.get("id"), "account": state.get("account")},
                "config": config,
                "keys": [{"accessKeyId": k["accessKeyId"], "user": k["user"], "keyStatus": k["keyStatus"],
                          "changed": k["changed"], "actNow": k["actNow"], **k["steps"]} for k in keys],
                "notHandled": unhandled}
    message = "\n".join(lines) + f"\n\n{JSON_MARKER}\n" + json.dumps(document, indent=1, default=str)
    cause = "; ".join([*(f"{k['accessKeyId']}: {t}" for k in keys for t in k["actNow"]), *unhandled]
                      ) or "no access key in the event"
    return {"subject": subject_for(outcome, keys, config["action"]), "message": message, "outcome": outcome,
            "failed": outcome == "failed", "cause": cause[:1000] if outcome == "failed" else "",
            "accessKeyIds": ",".join(k["accessKeyId"] for k in keys) or "none"}


def not_handled(state: dict) -> list[str]:
    """Act-now lines for what the event names that no step acted on: entities that are not access key ids, and
    keys beyond the per-event bound (validate.py)."""
    todo = [f"affected entity {r.get('entity')}: {r.get('reason')}" for r in state.get("rejected") or []
            if isinstance(r, dict)]
    more = (state.get("rejectedTotal") or 0) - len(todo)
    if more > 0:
        todo.append(f"{more} more affected entities are not access key ids: read the event in the AWS Health Dashboard")
    unhandled, total = state.get("unhandled") or [], state.get("unhandledTotal") or 0
    if total:
        todo.append(f"{total} more access keys were NOT disabled (at most {len(state.get('accessKeys') or [])} per "
                    f"event): disable them by hand: {', '.join(map(str, unhandled))}"
                    + (f" and {total - len(unhandled)} more listed in the event" if total > len(unhandled) else ""))
    return todo


def config_from_env() -> dict:
    return {"action": os.environ.get("ACTION", "deactivate"),
            "quarantine": os.environ.get("QUARANTINE", "false") == "true",
            "revokeSessions": os.environ.get("REVOKE_SESSIONS", "false") == "true"}


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return compose(event.get("state") or {}, event.get("execution", "?"), config_from_env())
