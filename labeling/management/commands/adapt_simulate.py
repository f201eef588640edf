"""`manage.py adapt_simulate --dataset DIR --accepted N --budget-min M --json OUT`: one adaptation round on a
folder data set (`images/` + `masks/`), as if a project had accepted N of its objects.

The round is `inference.adaptation.rounds.run_round`, the code the Celery job runs, with the job's settings
(`labeling.adaptation.settings.adapt_config`); options override them. Prints the table and the JSON (also written
to --json), and keeps the round's folder (report.png, the candidate) with --keep.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inference.adaptation.report import table
from inference.adaptation.simulate import simulate
from inference.adaptation.train import RECIPES
from inference.evaluation.runner import MODES
from labeling.adaptation.settings import adapt_config


class Command(BaseCommand):
    help = "Simulate one adaptation round on a folder data set: split, adapt, evaluate, decide; print the figures."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dataset", required=True, help="folder data set (images/ + masks/)")
        parser.add_argument("--accepted", type=int, required=True, help="objects the simulated project accepted")
        parser.add_argument("--budget-min", type=float, default=None, help="training budget in minutes (10)")
        parser.add_argument("--json", dest="json_out", help="write the round's JSON here")
        parser.add_argument("--model", default="default", help="the model to start from (name or checkpoint)")
        parser.add_argument("--mode", default=None, choices=[m for m in MODES if m != "grabcut"],
                            help="evaluation mode (f-brs-b, the projects' default)")
        parser.add_argument("--seed", type=int, default=None, help="choice of accepted objects and split (0)")
        parser.add_argument("--threads", type=int, default=None, help="torch threads (2)")
        parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when present)")
        parser.add_argument("--generic-data", default=None,
                            help="generic images/ + masks/ folder mixed into training (default: the setting)")
        parser.add_argument("--no-generic", action="store_true", help="train on the project's objects only")
        parser.add_argument("--generic-share", type=float, default=None, help="share of generic objects (0.5)")
        parser.add_argument("--recipe", default=None, choices=sorted(RECIPES), help="training recipe (adapt)")
        parser.add_argument("--max-clicks", type=int, default=None, help="clicks per held-out object (20)")
        parser.add_argument("--early-stop", action="store_true", help="stop each object at IoU 0.90")
        parser.add_argument("--work-dir", help="the round's folder (default: a temporary one)")
        parser.add_argument("--keep", action="store_true", help="keep the round's folder")

    def handle(self, *args, **opts) -> None:
        dataset = Path(opts["dataset"])
        if not (dataset / "images").is_dir() or not (dataset / "masks").is_dir():
            raise CommandError(f"{dataset} must contain images/ and masks/")
        if opts["accepted"] < 1:
            raise CommandError("--accepted must be at least 1")
        try:
            cfg = adapt_config(budget_min=opts["budget_min"], mode=opts["mode"], seed=opts["seed"],
                               threads=opts["threads"], device=opts["device"], generic_share=opts["generic_share"],
                               recipe=opts["recipe"], max_clicks=opts["max_clicks"],
                               early_stop=True if opts["early_stop"] else None,
                               generic_data=opts["generic_data"])
        except (TypeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if opts["no_generic"]:
            from dataclasses import replace
            cfg = replace(cfg, generic_data=None)
        if cfg.generic_data and not Path(cfg.generic_data).is_dir():
            raise CommandError(f"generic data folder not found: {cfg.generic_data}")
        work = Path(opts["work_dir"]) if opts["work_dir"] else Path(tempfile.mkdtemp(prefix="adapt-simulate-"))
        if opts["work_dir"] and work.exists() and any(work.iterdir()):
            raise CommandError(f"--work-dir {work} is not empty")
        try:
            result = simulate(dataset=dataset, accepted=opts["accepted"], model=opts["model"], work_dir=work, cfg=cfg)
            data = result.to_json()
            data["dataset"] = str(dataset)
            data["accepted"] = opts["accepted"]
            if opts["json_out"]:
                Path(opts["json_out"]).write_text(json.dumps(data, indent=1))
            self.stdout.write(table(data))
            self.stdout.write(json.dumps({k: v for k, v in data.items() if k not in ("losses", "split")}, indent=1))
            if opts["keep"] or opts["work_dir"]:
                self.stdout.write(f"round folder: {work}")
        finally:
            if not (opts["keep"] or opts["work_dir"]):
                shutil.rmtree(work, ignore_errors=True)
