"""`make verify-export`: our exports loaded by the real consumers, lerobot and robomimic.

Two steps in two environments, since lerobot 0.4.4 pins its own torch, av and opencv:

    .venv/bin/python tests/episodes/verify_export.py prepare WORK
        (the project's environment) records synthetic episodes of launch/sim_pick_place.yaml,
        exports them with `episodes.export_lerobot` and `episodes.export_robomimic`, and writes
        WORK/expected.npz: what each exported sample must hold, read from the source episodes.
    .venv-verify/bin/python tests/episodes/verify_export.py check WORK
        (lerobot 0.4.4 + robomimic 0.3.0) loads WORK/lerobot with `LeRobotDataset` (pyav video
        backend) and WORK/demos.hdf5 with robomimic's `SequenceDataset`, compares them with
        WORK/expected.npz, prints a JSON summary and exits 1 on the first mismatch.

Not part of `make test`: the second environment is several GB (lerobot pulls a CUDA build of torch).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SESSION = REPO / "launch/sim_pick_place.yaml"
EPISODES = ((3.0, 1, True), (4.0, 2, False), (2.5, 3, True))  # duration s, seed, success
ACTION_HORIZON = 10
MIN_PSNR_DB = 25.0


def prepare(work: Path) -> None:
    sys.path.insert(0, str(REPO))
    import episodes
    from sim_envs import record_synthetic_episode
    from tg_config import load_session

    dataset = work / "dataset"
    run = load_session(SESSION).model_copy(update={"out": str(dataset)}).resolve()
    ids = [
        record_synthetic_episode(run, duration_s=d, seed=seed, success=ok).stem for d, seed, ok in EPISODES
    ]
    # The split EpisodeDataset would write, with a large validation share so that mask/valid is used.
    episodes.update_splits(dataset, ids, valid_fraction=0.5)
    # Synthetic episodes are never validated: this check is about the formats, not the QA gate.
    unchecked = episodes.EpisodeFilter(qa="any")
    options = episodes.ExportOptions(filter=unchecked)
    lerobot = episodes.export_lerobot(dataset, work / "lerobot", options)
    robomimic = episodes.export_robomimic(dataset, work / "demos.hdf5", options)
    selection = episodes.select_episodes(dataset, unchecked)
    layout = episodes.sample_layout(selection.episodes[0])
    expected: dict[str, Any] = {}
    meta: dict[str, Any] = {
        "fps": lerobot.details["fps"],
        "cameras": list(lerobot.cameras),
        "episodes": [],
        "demos": robomimic.details["demos"],
        "state_streams": list(layout.state_streams),
    }
    for i, entry in enumerate(selection.episodes):
        with episodes.open(entry.path) as reader:
            aligned = episodes.load_aligned(entry, layout, reader=reader)
            expected[f"state_{i}"] = aligned.state
            expected[f"action_{i}"] = aligned.action
            expected[f"time_ns_{i}"] = aligned.time_ns
            for camera in lerobot.cameras:
                index = aligned.frames[camera]
                expected[f"{camera}_{i}"] = np.stack([reader.image(camera, int(k)).decode() for k in index])
            meta["episodes"].append(
                {
                    "id": entry.episode_id,
                    "length": len(aligned),
                    "task": aligned.instruction or aligned.task,
                    "success": aligned.success,
                }
            )
    np.savez_compressed(work / "expected.npz", **expected)
    (work / "expected.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    print(
        json.dumps(
            {
                "prepared": str(work),
                "episodes": lerobot.episodes,
                "frames": lerobot.frames,
                "codec": lerobot.details["codec"],
            }
        )
    )


class MismatchError(AssertionError):
    pass


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise MismatchError(what)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse) if mse else float("inf")


def check(work: Path) -> dict[str, Any]:
    import torch
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    meta = json.loads((work / "expected.json").read_text())
    expected = np.load(work / "expected.npz")
    fps = meta["fps"]
    lengths = [e["length"] for e in meta["episodes"]]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)
    report: dict[str, Any] = {"lerobot": {}, "robomimic": {}}

    # ------------------------------------------------------------ LeRobot
    t0 = time.perf_counter()
    ds = LeRobotDataset("local/tg_export", root=work / "lerobot", video_backend="pyav")
    expect(len(ds) == sum(lengths), f"LeRobotDataset has {len(ds)} frames, expected {sum(lengths)}")
    expect(ds.num_episodes == len(lengths), f"{ds.num_episodes} episodes, expected {len(lengths)}")
    expect(ds.fps == fps, f"fps {ds.fps}, expected {fps}")
    worst_psnr = float("inf")
    checked = 0
    for e, (start, n) in enumerate(zip(starts, lengths, strict=True)):
        for k in sorted({0, 1, n // 2, n - 1}):
            item = ds[int(start + k)]
            where = f"LeRobotDataset[{start + k}] (episode {e}, frame {k})"
            expect(int(item["episode_index"]) == e, f"{where}: episode_index {int(item['episode_index'])}")
            expect(int(item["frame_index"]) == k, f"{where}: frame_index {int(item['frame_index'])}")
            expect(
                abs(float(item["timestamp"]) - k / fps) < 1e-4,
                f"{where}: timestamp {float(item['timestamp'])}",
            )
            ticks = expected[f"time_ns_{e}"]
            expect(
                abs(float(item["timestamp"]) - (ticks[k] - ticks[0]) / 1e9) < 1e-4,
                f"{where}: not the tick's time",
            )
            expect(
                np.array_equal(item["observation.state"].numpy(), expected[f"state_{e}"][k]),
                f"{where}: state",
            )
            expect(np.array_equal(item["action"].numpy(), expected[f"action_{e}"][k]), f"{where}: action")
            expect(item["task"] == meta["episodes"][e]["task"], f"{where}: task {item['task']!r}")
            for camera in meta["cameras"]:
                image = item[f"observation.images.{camera}"]
                source = expected[f"{camera}_{e}"][k]
                expect(
                    tuple(image.shape) == (3, *source.shape[:2]),
                    f"{where}: {camera} shape {tuple(image.shape)}",
                )
                decoded = (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
                quality = psnr(decoded, source)
                worst_psnr = min(worst_psnr, quality)
                expect(quality > MIN_PSNR_DB, f"{where}: {camera} PSNR {quality:.1f} dB vs the source frame")
            checked += 1
    # An action chunk as ACT / diffusion policy ask for it: padded past the episode's end.
    deltas = [i / fps for i in range(ACTION_HORIZON)]
    chunked = LeRobotDataset(
        "local/tg_export", root=work / "lerobot", video_backend="pyav", delta_timestamps={"action": deltas}
    )
    last = int(starts[0] + lengths[0] - 3)
    item = chunked[last]
    pad = item["action_is_pad"].numpy()
    expect(pad.tolist() == [False] * 3 + [True] * (ACTION_HORIZON - 3), f"action_is_pad {pad.tolist()}")
    expect(np.array_equal(item["action"][:3].numpy(), expected["action_0"][-3:]), "action chunk values")
    loader = torch.utils.data.DataLoader(ds, batch_size=8, shuffle=True, num_workers=2)
    batch = next(iter(loader))
    expect(tuple(batch["observation.state"].shape) == (8, expected["state_0"].shape[1]), "DataLoader batch")
    stats = ds.meta.stats
    expect({"observation.state", "action"} <= set(stats), f"stats keys {sorted(stats)}")
    report["lerobot"] = {
        "frames": len(ds),
        "episodes": ds.num_episodes,
        "items_checked": checked,
        "worst_psnr_db": round(worst_psnr, 1),
        "video_codec": ds.meta.features[f"observation.images.{meta['cameras'][0]}"]["info"]["video.codec"],
        "seconds": round(time.perf_counter() - t0, 1),
    }

    # ------------------------------------------------------------ robomimic
    import robomimic.utils.obs_utils as obs_utils
    from robomimic.utils.dataset import SequenceDataset
    from robomimic.utils.file_utils import get_env_metadata_from_dataset, get_shape_metadata_from_dataset

    path = str(work / "demos.hdf5")
    low_dim = meta["state_streams"]
    rgb = [f"{c}_image" for c in meta["cameras"]]
    obs_utils.initialize_obs_utils_with_obs_specs({"obs": {"low_dim": low_dim, "rgb": rgb}})
    env = get_env_metadata_from_dataset(path)
    shapes = get_shape_metadata_from_dataset(path, all_obs_keys=low_dim + rgb)
    sizes = {}
    for split in ("train", "valid"):
        data = SequenceDataset(
            hdf5_path=path,
            obs_keys=low_dim + rgb,
            dataset_keys=["actions", "rewards", "dones"],
            seq_length=ACTION_HORIZON,
            pad_seq_length=True,
            hdf5_cache_mode="low_dim",
            filter_by_attribute=split,
        )
        sizes[split] = len(data)
        if len(data):
            item = data[0]
            expect(tuple(item["actions"].shape) == (ACTION_HORIZON, expected["action_0"].shape[1]), "actions")
        del data
    expect(sum(sizes.values()) == sum(lengths), f"train + valid samples {sizes}, expected {sum(lengths)}")
    demo_of = {e["id"]: i for i, e in enumerate(meta["episodes"])}
    everything = SequenceDataset(
        hdf5_path=path,
        obs_keys=low_dim + rgb,
        dataset_keys=["actions", "rewards", "dones"],
        seq_length=ACTION_HORIZON,
        pad_seq_length=True,
        hdf5_cache_mode=None,
    )
    for episode_id, demo in meta["demos"].items():
        e = demo_of[episode_id]
        n = lengths[e]
        index = everything._demo_id_to_start_indices[demo] + n - 2
        item = everything[index]
        where = f"robomimic {demo} sample {n - 2}"
        expect(np.allclose(item["actions"][:2], expected[f"action_{e}"][-2:]), f"{where}: actions")
        expect(np.allclose(item["actions"][2:], expected[f"action_{e}"][-1]), f"{where}: end padding")
        expect(float(item["dones"][1]) == 1.0, f"{where}: dones")
        expect(
            float(item["rewards"][1]) == (1.0 if meta["episodes"][e]["success"] else 0.0), f"{where}: rewards"
        )
        state = np.concatenate([item["obs"][k][0] for k in low_dim])
        expect(np.allclose(state, expected[f"state_{e}"][n - 2]), f"{where}: obs")
        camera = meta["cameras"][0]
        expect(
            np.array_equal(item["obs"][f"{camera}_image"][0], expected[f"{camera}_{e}"][n - 2]),
            f"{where}: image",
        )
    del everything
    report["robomimic"] = {
        "samples": sizes,
        "env_name": env["env_name"],
        "obs_shapes": {k: list(v) for k, v in shapes["all_shapes"].items() if k.endswith("_image")},
    }
    return report


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {
        name: version(name) for name in ("lerobot", "torch", "torchvision", "av", "robomimic", "datasets")
    }


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("prepare", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    work = Path(sys.argv[2])
    if sys.argv[1] == "prepare":
        work.mkdir(parents=True, exist_ok=False)
        prepare(work)
        return 0
    try:
        result = {"ok": True, **check(work)}
    except MismatchError as exc:
        result = {"ok": False, "mismatch": str(exc)}
    result["versions"] = versions()
    text = json.dumps(result, indent=1)
    (work / "verify_report.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
