"""docs/reliability.md from the figures of the generated-input, fault and load tests:
`python -m tools.reliability_report [--run parsers] [--run api] [--run faults] [--run load] [--examples 500]`.

Each `--run` (re)produces one kind of figures and keeps them under docs/reliability/; without `--run` the
document is made from the figures already there. `--run all` = parsers, api and faults (minutes); `--run load`
runs both load tests (`python -m tools.loadtest`, 2 x `--duration` seconds plus start-up).

    parsers   python tests/labeling/parser_figures.py --examples N        -> docs/reliability/parsers.md
    api       CLICKLABEL_FUZZ_EXAMPLES=M pytest tests/labeling/test_api_fuzz.py -m fuzz -s -> api_fuzz.json
    faults    CLICKLABEL_FAULTS_JSON=... pytest tests/faults -m faults   -> faults.json
    load      python -m tools.loadtest --target embedded|topology     -> load-embedded.json, load-topology.json
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "reliability"
DOC = ROOT / "docs" / "reliability.md"

#: every finding of the hardening review, the tests that failed before its fix (file::test)
FINDINGS: list[tuple[str, list[str]]] = [
    ("Mask payloads were decoded at the size the client claimed, before that size was compared with the image "
     "and before the caller's edit right was checked; PNG masks had Pillow's default limit only.",
     ["tests/labeling/test_mask_limits.py::test_a_reviewer_gets_403_before_any_mask_is_decoded",
      "tests/labeling/test_mask_limits.py::test_a_patch_from_a_non_editor_is_refused_before_decoding",
      "tests/labeling/test_mask_limits.py::test_a_declared_size_other_than_the_image_is_refused_before_decoding",
      "tests/labeling/test_mask_limits.py::test_a_png_mask_declaring_more_pixels_than_the_image_is_refused_from_its_header",
      "tests/labeling/test_mask_limits.py::test_png_text_chunks_are_not_inflated"]),
    ("Compressed RLE strings were not checked to cover exactly H x W pixels (uninitialised memory stored), "
     "also through COCO import; non-ASCII counts gave a 500.",
     ["tests/labeling/test_mask_limits.py::test_a_compressed_string_must_cover_exactly_h_times_w_pixels",
      "tests/labeling/test_mask_limits.py::test_a_short_compressed_string_never_stores_uninitialised_memory",
      "tests/labeling/test_mask_limits.py::test_counts_outside_the_alphabet_are_a_400_not_a_500",
      "tests/labeling/test_mask_limits.py::test_coco_segmentation_with_a_short_string_is_refused",
      "tests/labeling/test_import_limits.py::test_a_compressed_rle_that_does_not_cover_the_image_is_skipped",
      "tests/labeling/test_import_limits.py::test_non_ascii_counts_in_a_coco_file_are_skipped_not_a_500"]),
    ("COCO import: polygon coordinates were only checked to be finite; no caps on polygons and annotations "
     "per file; ids of the wrong JSON type gave a 500.",
     ["tests/labeling/test_import_limits.py::test_a_far_away_polygon_is_refused_without_rasterising_it",
      "tests/labeling/test_import_limits.py::test_polygons_per_annotation_are_capped",
      "tests/labeling/test_import_limits.py::test_per_file_caps_refuse_the_whole_file",
      "tests/labeling/test_import_limits.py::test_ids_of_the_wrong_json_type_are_a_400",
      "tests/labeling/test_import_limits.py::test_a_zigzag_polygon_within_the_image_is_refused_by_its_outline_length"]),
    ("With DJANGO_DEBUG=1 `/media/` was served without a permission check and export file names were "
     "predictable.",
     ["tests/labeling/test_media_access.py::test_debug_mode_serves_no_stored_file_without_a_permission_check",
      "tests/labeling/test_media_access.py::test_export_files_have_random_names_and_download_under_a_friendly_one"]),
    ("Exports were built in memory (web process and worker).",
     ["tests/labeling/test_export_memory.py::test_export_peak_memory_is_flat_in_the_number_of_images"]),
    ("A zip's central directory was parsed before its member count was checked.",
     ["tests/labeling/test_zip_limits.py::test_too_many_members_are_refused_from_the_end_record",
      "tests/labeling/test_zip_limits.py::test_a_zip64_end_record_is_read",
      "tests/labeling/test_zip_limits.py::test_an_end_record_that_understates_the_count_is_refused"]),
    ("Websocket: every connect and prefetch queued a full warm-up forward; new object ids created engine "
     "sessions without bound per user.",
     ["tests/live/test_consumer.py::test_a_user_holds_a_bounded_number_of_sockets",
      "tests/live/test_consumer.py::test_prefetches_and_new_objects_are_rate_limited_per_user",
      "tests/live/test_worker_units.py::test_one_user_with_many_objects_evicts_only_their_own_sessions",
      "tests/live/test_worker_units.py::test_a_prepared_image_starts_at_once_and_a_cold_click_says_preparing",
      "tests/live/test_scheduler.py::test_a_prefetch_waits_while_clicks_run_and_the_open_image_does_not",
      "tests/live/test_scheduler.py::test_stale_prefetches_are_dropped_and_deadlines_stop_a_job"]),
    ("Long SQLite write transactions (uploads writing files inside the transaction, a COCO import in one "
     "transaction) made annotators' saves fail with \"database is locked\".",
     ["tests/labeling/test_sqlite_locking.py::test_saves_are_not_locked_out_by_a_big_write"]),
    ("`check --deploy` warnings, unthrottled logins and no common-password validator, the last manager could "
     "demote themselves, `default_model` accepted any path and worker errors echoed host paths, a PATCH racing "
     "a submit could change an image in review; the API schema did not say what the API answers.",
     ["tests/labeling/test_auth_hardening.py::test_check_deploy_is_clean_with_the_production_environment",
      "tests/labeling/test_auth_hardening.py::test_repeated_failures_lock_the_login_out",
      "tests/labeling/test_auth_hardening.py::test_a_lockout_on_one_path_holds_on_the_others",
      "tests/labeling/test_auth_hardening.py::test_common_numeric_short_or_user_like_passwords_are_refused",
      "tests/labeling/test_edit_races.py::test_the_last_manager_cannot_demote_themselves_through_the_api",
      "tests/labeling/test_edit_races.py::test_two_managers_stepping_down_at_once_leave_one",
      "tests/labeling/test_edit_races.py::test_a_write_that_read_the_image_before_a_submit_cannot_change_it_in_review",
      "tests/labeling/test_edit_races.py::test_a_write_racing_an_uncommitted_submit_waits_and_is_refused",
      "tests/labeling/test_engine_choices.py::test_services_refuse_unregistered_modes_models_and_paths",
      "tests/live/test_client_messages.py::test_an_unreadable_image_is_reported_without_its_path",
      "tests/labeling/test_api_schema.py::test_every_operation_documents_the_error_body",
      "tests/labeling/test_api_schema.py::test_a_path_matching_no_route_gets_the_json_error_body"]),
    ("A click worker's memory was not bounded by its session budget: the cache counted f-BRS sessions at an "
     "eighth of what they hold (network features in every undo snapshot: ten f-BRS-B objects at 320 x 240 counted "
     "70 MB and took 576 MB), and evicted sessions' memory stayed in the process (glibc's rising mmap threshold: "
     "3.75 GB resident for a 2 GiB budget after 200 objects, still growing). Sessions are measured now, and the "
     "worker fixes the threshold (flat at 2.35 GB in the same run).",
     ["tests/live/test_session_memory.py::test_fbrs_session_bytes_match_the_memory_the_sessions_take",
      "tests/live/test_session_memory.py::test_freed_session_memory_goes_back_to_the_system_in_a_worker"]),
]


# ---- producing figures ---------------------------------------------------------------------------------------

def run_parsers(examples: int) -> None:
    """tests/labeling/parser_figures.py -> docs/reliability/parsers.md (its two Markdown tables)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "tests/labeling/parser_figures.py", "--examples", str(examples)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    tables = "\n".join(line for line in done.stdout.splitlines() if line.startswith("|") or not line.strip())
    (FIGURES / "parsers.md").write_text(f"<!-- examples per parser: {examples}; {time.monotonic() - started:.0f} s -->\n"
                                        + tables.strip() + "\n")


FUZZ_LINE = re.compile(r"fuzz (\w+): (\d+) cases over (\d+) operations, (\d+) responses 5xx, (\d+) failing")


def run_api(examples: int) -> None:
    """The Schemathesis test as each role -> docs/reliability/api_fuzz.json."""
    env = {**os.environ, "CLICKLABEL_FUZZ_EXAMPLES": str(examples)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/labeling/test_api_fuzz.py", "-m", "fuzz", "-s", "-q",
                           "-p", "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, text=True)
    roles = [{"role": m[0], "cases": int(m[1]), "operations": int(m[2]), "5xx": int(m[3]),
              "failing_operations": int(m[4])} for m in FUZZ_LINE.findall(done.stdout)]
    (FIGURES / "api_fuzz.json").write_text(json.dumps(
        {"examples_per_operation_role_mode": examples, "passed": done.returncode == 0, "roles": roles,
         "seconds": round(time.monotonic() - started)}, indent=2) + "\n")
    if not roles:
        raise RuntimeError(f"no fuzz figures in the test output:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")


def run_faults() -> None:
    """The fault tests -> docs/reliability/faults.json."""
    out = FIGURES / "faults.json"
    env = {**os.environ, "CLICKLABEL_FAULTS_JSON": str(out)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/faults", "-m", "faults", "-q", "-p",
                           "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, text=True)
    data = json.loads(out.read_text()) if out.exists() else {"rows": []}
    data.update(passed=done.returncode == 0, seconds=round(time.monotonic() - started))
    out.write_text(json.dumps(data, indent=2) + "\n")
    if done.returncode != 0:
        print(done.stdout[-4000:], file=sys.stderr)


def run_load(users: int, duration_s: int) -> None:
    """Both load tests -> docs/reliability/load-embedded.json, load-topology.json."""
    for target in ("embedded", "topology"):
        subprocess.run([sys.executable, "-m", "tools.loadtest", "--target", target, "--users", str(users),
                        "--duration", str(duration_s)], cwd=ROOT)


# ---- the document ---------------------------------------------------------------------------------------------

def _read_json(name: str) -> dict | None:
    path = FIGURES / name
    return json.loads(path.read_text()) if path.exists() else None


def _parser_section() -> list[str]:
    lines = ["## Generated inputs", ""]
    parsers = FIGURES / "parsers.md"
    if parsers.exists():
        text = parsers.read_text()
        examples = re.search(r"examples per parser: (\d+)", text)
        tables = [t for t in text.split("\n\n") if t.strip().startswith("|") or "\n|" in t]
        rows = [line for line in tables[0].splitlines() if line.startswith("| ") and not line.startswith("| parser")]
        total = sum(int(r.split("|")[2]) for r in rows)
        errors = sum(int(r.split("|")[5]) for r in rows)
        over = sum(int(r.split("|")[6]) for r in rows)
        lines += [f"Parsers of untrusted input, Hypothesis strategies of tests/labeling/fuzz_inputs.py, "
                  f"{examples.group(1) if examples else '?'} inputs asked per parser (`python "
                  f"tests/labeling/parser_figures.py --examples N`): {total:,} inputs, {errors} answered with "
                  f"anything but a result or a 4xx-type refusal (a 5xx), {over} over the memory budget (a constant "
                  "times the image's pixels and the input's bytes, `tracemalloc`).", "",
                  tables[0].strip().replace("<!--", "").split("-->")[-1].strip(), ""]
        if len(tables) > 1:
            lines += ["Peak memory of one request of each kind on a 4000 x 3000 image (`traced`: Python and numpy "
                      "allocations; `RSS growth`: the process's peak resident set above where it started, C "
                      "libraries included):", "", tables[1].strip(), ""]
    else:
        lines += ["(no parser figures: `python -m tools.reliability_report --run parsers`)", ""]
    api = _read_json("api_fuzz.json")
    if api:
        cases = sum(r["cases"] for r in api["roles"])
        lines += [f"The REST API, Schemathesis against `/api/schema/` (every operation; positive and negative cases; "
                  f"{api['examples_per_operation_role_mode']} examples per operation, role and mode; "
                  f"`CLICKLABEL_FUZZ_EXAMPLES={api['examples_per_operation_role_mode']} pytest "
                  f"tests/labeling/test_api_fuzz.py -m fuzz`): {cases:,} requests, "
                  f"{sum(r['5xx'] for r in api['roles'])} answered 5xx, "
                  f"{sum(r['failing_operations'] for r in api['roles'])} failing operation/mode pairs (a response outside "
                  f"the schema, or no case the schema allows could be generated); the test {'passed' if api['passed'] else 'FAILED'}.", "",
                  "| role | requests | operations | 5xx | failing operation/mode pairs |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {r['role']} | {r['cases']:,} | {r['operations']} | {r['5xx']} | {r['failing_operations']} |"
                  for r in api["roles"]]
        lines.append("")
    return lines


def _fault_section() -> list[str]:
    lines = ["## Faults", "",
             "The embedded stack as `make run` starts it (scripts/run_stack.py's processes: a private Redis on a "
             "unix socket, SQLite, the Celery worker, one live click worker, daphne), four annotator clients "
             "(tools/bench_live/annotator.py, one thread each) clicking objects of four clicks, autosaving a draft "
             "after every mask and saving each object; each fault is injected while every client is in the middle "
             "of an object and one of them waits for a mask. Each client finishes three objects and leaves a "
             "fourth unfinished (its draft). Afterwards the REST API must return every annotation the server "
             "acknowledged (201) with its clicks and every client's last acknowledged draft. "
             "`pytest tests/faults -m faults` (prints this table).", "",
             "- **clients affected**: clients that saw a failed attempt (a refused or dropped connection, a 5xx, "
             "an error message) or a click held up by the fault (5 x slower than before it, at least 2 s);",
             "- **time to recover**: from the fault until the last affected client got a mask again;",
             "- a client retries as the browser does: it reopens its socket and resends the object's full click "
             "list, retries a failed REST call; **duplicates** are objects stored twice because a save was "
             "retried after a response was lost.", ""]
    faults = _read_json("faults.json")
    if not faults or not faults.get("rows"):
        return lines + ["(no fault figures: `python -m tools.reliability_report --run faults`)", ""]
    lines += ["| fault | clients affected | time to recover | annotations saved | annotations lost | drafts saved "
              "| drafts lost | duplicates | what clients saw |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in faults["rows"]:
        saw = ", ".join(f"{n} x {k}" for k, n in sorted(r.get("failure_kinds", {}).items(), key=lambda kv: -kv[1]))
        lines.append(f"| {r['fault']} | {r['clients_affected']} of {r['clients']} | {r['recover_s']:.1f} s "
                     f"| {r['annotations_saved']} | {r['annotations_lost']} | {r['drafts_saved']} | {r['drafts_lost']} "
                     f"| {r['duplicates']} | {saw or '-'} |")
    lines += ["", f"Every client finished its objects in every fault: "
              f"{'yes' if all(r['unfinished_clients'] == 0 for r in faults['rows']) else 'NO'}; the tests "
              f"{'passed' if faults.get('passed', True) else 'FAILED'}.", ""]
    return lines


def _load_section() -> list[str]:
    lines = ["## Load", "",
             "Locust (`python -m tools.loadtest --target embedded|topology --users 50 --duration 300`) runs one "
             "annotator per user (started one per second; tools/loadtest/locustfile.py, the annotator client of the fault tests): 3-5 clicks "
             "per object on the default network in the project's default mode, 1-3 s between clicks, a draft "
             "autosaved after every mask, the object saved through the REST API, a new image every three objects, "
             "an export job (COCO RLE, every status) polled and downloaded after a user's first object and then every third; 640 x 480 images, "
             "two per user, ten users per project. Every failed attempt counts as an error (a refused or dropped "
             "connection, a 4xx or 5xx, an error message on the socket). The load generator runs on the same "
             "machine as the stack. Worker memory: resident set of each worker's process group (the Celery "
             "process and its pool child), sampled every 2 s.", ""]
    runs = [r for r in (_read_json("load-embedded.json"), _read_json("load-topology.json")) if r]
    if not runs:
        return lines + ["(no load figures: `python -m tools.loadtest --target embedded|topology`)", ""]
    lines += ["| | " + " | ".join(r["target"] for r in runs) + " |", "|---|" + "---:|" * len(runs)]

    def row(label: str, fn) -> None:
        lines.append(f"| {label} | " + " | ".join(fn(r) for r in runs) + " |")

    row("processes", lambda r: r["description"].split(": ", 1)[-1])
    row("annotators (Locust users), minutes", lambda r: f"{r['users']}, {r['duration_s'] / 60:.0f}")
    row("sessions (users who clicked)", lambda r: str(r["sessions"]))
    row("clicks / masks", lambda r: f"{r['counts']['clicks']:,} / {r['counts']['masks']:,}")
    row("clicks whose object the worker rebuilt from the click list (evicted or moved)",
        lambda r: f"{r['counts'].get('rebuilds', 0):,}")
    row("objects saved", lambda r: f"{r['counts']['saves']:,}")
    row("drafts autosaved", lambda r: f"{r['counts']['drafts']:,}")
    row("exports (job, poll, download)", lambda r: f"{r['counts']['exports']:,}")
    row("errors", lambda r: f"{r['failed_attempts']}")
    row("click latency p50 / p95 under load", lambda r: f"{r['click_ms']['p50'] / 1e3:.2f} s / "
                                                         f"{r['click_ms']['p95'] / 1e3:.2f} s")
    row("worker engine time per click p50 / p95 (`model_ms`)",
        lambda r: f"{r['model_ms']['p50'] / 1e3:.2f} s / {r['model_ms']['p95'] / 1e3:.2f} s" if "model_ms" in r else "-")
    row("REST save / draft p95", lambda r: f"{_p95(r, 'HTTP save')} / {_p95(r, 'HTTP draft')} ms")
    row("click worker peak RSS", lambda r: ", ".join(f"{m['peak_mb'] / 1024:.2f} GB" for n, m in
                                                     sorted(r["memory_mb"].items()) if "live" in n or "click" in n))
    row("export / Celery worker peak RSS", lambda r: ", ".join(f"{m['peak_mb']:.0f} MB" for n, m in
                                                               sorted(r["memory_mb"].items())
                                                               if n in ("worker", "export-worker")))
    row("web process peak RSS", lambda r: ", ".join(f"{m['peak_mb']:.0f} MB" for n, m in sorted(r["memory_mb"].items())
                                                    if n.startswith("web")))
    row("machine", lambda r: r["machine"])
    row("machine load average (5 min) before / after", lambda r: "{before} / {after}".format(**r["load_average_5min"])
        if "load_average_5min" in r else "-")
    lines.append("")
    for r in runs:
        if not (r["failed_attempts"] or r["broken_tasks"]):
            continue
        kinds = sorted({sample.split(": ", 1)[-1] for sample in r["failure_samples"]})
        text = (f"Errors of the {r['target']} run: {r['failed_attempts']} failed attempts ({'; '.join(kinds)}); "
                f"{r['broken_tasks']} objects given up by their annotator after 120 s of retries.")
        if kinds and all("did not answer in time" in k for k in kinds):
            text += (" Every error is a click that waited in its worker's queue past the click's expiry (30 s; the "
                     "socket reports the timeout at 40 s): the workers computed clicks for "
                     f"{r['model_ms']['sum_s']:.0f} s in all, at {r['model_ms']['p50'] / 1e3:.2f} s per click (median "
                     "engine time on this shared machine, see its load average), while the annotators asked for more. "
                     "Drafts, saves and exports (REST) had no failure.")
        lines += [text, ""]
    return lines


def _p95(run: dict, name: str) -> str:
    entry = run["requests"].get(name)
    return f"{entry['p95_ms']:.0f}" if entry else "-"


def _findings_section() -> list[str]:
    lines = ["## Findings and the tests that failed before their fixes", ""]
    for number, (text, tests) in enumerate(FINDINGS, start=1):
        lines.append(f"{number}. {text}")
        lines += [f"   - `{t}`" for t in tests] or ["   - (tests to be listed)"]
    return lines + [""]


def render() -> str:
    """The whole document from the figures under docs/reliability/."""
    head = ["# Reliability", "",
            "Bad input gets a clear 4xx and changes nothing; no single request or message costs more than a bounded "
            "amount of memory or time; a dying process loses no saved work. The figures below come from tests that "
            "generate their inputs, from faults injected into the running stack and from a load test; this document "
            "is written by `python -m tools.reliability_report` from the figures under `docs/reliability/` (see "
            "its `--run` options to produce them again).", "",
            "Markers: `pytest -m fuzz` (generated inputs), `pytest -m faults` (faults on the real stack); both run "
            "in `make test`.", ""]
    return "\n".join(head + _parser_section() + _fault_section() + _load_section() + _findings_section())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.reliability_report", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--run", action="append", default=[], choices=["parsers", "api", "faults", "load", "all"])
    parser.add_argument("--examples", type=int, default=500, help="generated inputs per parser (default 500)")
    parser.add_argument("--api-examples", type=int, default=3, help="Schemathesis examples per operation, role, mode")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=300)
    args = parser.parse_args(argv)
    todo = set(args.run)
    if "all" in todo:
        todo |= {"parsers", "api", "faults"}
    FIGURES.mkdir(parents=True, exist_ok=True)
    if "parsers" in todo:
        run_parsers(args.examples)
    if "api" in todo:
        run_api(args.api_examples)
    if "faults" in todo:
        run_faults()
    if "load" in todo:
        run_load(args.users, args.duration)
    DOC.write_text(render())
    print(f"written {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
