"""`tg validate`: the quality gate over episode files and dataset directories."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import episodes
import sim_envs
from tg_base import TgError
from tg_config import EpisodeQaConfigs, load_profile, load_session
from training_ground.cli._console import console, progress
from training_ground.cli._executor import ExecutorOption, RayAddressOption, executor_for
from training_ground.cli._paths import episode_files, output_file

__all__ = ["ConfigOption", "PathsArg", "ProfileOption", "WorkersOption", "qa_configs", "validate"]

PathsArg = Annotated[list[Path], typer.Argument(help="Episode files (.h5) or dataset directories.")]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", min=1, help="Processes to use (default: all cores).")
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile", help="Robot profile (name or .yaml file) to check against, instead of each episode's."
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Session config: expect its streams, rates, duration bounds, task and qa settings."
    ),
]


def validate(
    paths: PathsArg,
    json_file: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Write every finding to FILE as JSON.")
    ] = None,
    html_file: Annotated[
        Path | None,
        typer.Option("--html", metavar="FILE", help="Write a report with plots and thumbnails to FILE."),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Record the result in each episode (/annotations/qa).")
    ] = False,
    workers: WorkersOption = None,
    profile: ProfileOption = None,
    config: ConfigOption = None,
    replay: Annotated[
        bool,
        typer.Option(
            "--replay", help="Also replay simulated episodes' actions in the simulation (replay.divergence)."
        ),
    ] = False,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Check episodes: timing, values, images, sync, status. Exit code 1 if any episode has an error.

    Thresholds come from each episode's robot profile (and --config's session);
    episodes/QA.md lists every check. Files are not modified unless --write.

    Example: tg validate datasets/demo --html qa.html
    """
    files = episode_files(paths)
    configs = qa_configs(profile, config)
    for target, option in ((json_file, "--json"), (html_file, "--html")):
        if target is not None:
            output_file(target, option, f"qa.{option[2:]}")  # before the work, not after it
    with executor_for(executor, ray_address, workers) as run, progress(len(files), "validating") as advance:
        reports = episodes.validate_episodes(
            files,
            configs,
            executor=run,
            write=write,
            visuals=html_file is not None,
            on_result=advance,
            checks=[sim_envs.DivergenceCheck()] if replay else [],
        )
    _print_table(reports)
    if json_file is not None:
        payload = {
            "checks": {
                c.id: {"severity": c.severity.value, "catches": c.catches} for c in episodes.CHECKS.values()
            },
            "episodes": [r.to_json() for r in reports],
        }
        _write(json_file, json.dumps(payload, indent=1) + "\n", "the findings")
        console.print(f"findings: {json_file}")
    if html_file is not None:
        _write(html_file, episodes.render_html_report(reports), "the HTML report")
        console.print(f"HTML report: {html_file.resolve()}")
    if write:
        console.print(
            f"recorded the result in {sum(r.written for r in reports)} episode(s) (others unchanged)"
        )
    if any(not r.passed for r in reports):
        raise typer.Exit(1)


def _write(path: Path, text: str, what: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:  # a full or read-only disk: one line, exit 1
        raise episodes.write_error(exc, path, f"writing {what}") from None


def _print_table(reports: Sequence[episodes.EpisodeReport]) -> None:
    table = Table(title=f"{len(reports)} episode(s)", title_justify="left")
    table.add_column("episode", no_wrap=True, min_width=26)
    table.add_column("result")
    table.add_column("errors", justify="right")
    table.add_column("warnings", justify="right")
    table.add_column("findings per check")
    for r in reports:
        counts = ", ".join(f"{check} x{n}" for check, n in sorted(r.counts().items()))
        table.add_row(
            r.episode_id or Path(r.path).name,
            "[green]pass[/]" if r.passed else "[bold red]FAIL[/]",
            str(r.errors),
            str(r.warnings),
            counts or "-",
        )
    console.print(table)
    failed = sum(1 for r in reports if not r.passed)
    console.print(
        f"{len(reports)} episode(s): {len(reports) - failed} passed, {failed} failed; "
        f"{sum(r.errors for r in reports)} error(s), {sum(r.warnings for r in reports)} warning(s)"
    )


def qa_configs(profile: str | None, config: Path | None) -> EpisodeQaConfigs:
    """Each episode's config; the files named on the command line are checked now (usage errors)."""
    try:
        if config is not None:
            session = load_session(config)
            session.resolve(load_profile(profile) if profile else None)
        elif profile is not None:
            load_profile(profile)
    except TgError as exc:
        raise typer.BadParameter(
            str(exc), param_hint="--config" if config is not None else "--profile"
        ) from None
    return EpisodeQaConfigs(profile=profile, session=str(config) if config is not None else None)
