"""The catalogue: records read from real episode files, upsert/get, digests, queries with keyset pages."""

from __future__ import annotations

import dataclasses

import pytest

import episodes
from tests.tg_site.site_episodes import make_episode
from tg_site import (
    Catalogue,
    EpisodePage,
    EpisodeQuery,
    EpisodeRecord,
    QueryError,
    SiteError,
    Store,
    TaskSpec,
    UnknownTaskError,
    record_from_file,
)
from tg_site._query import episode_statement
from tg_site._records import file_sha256


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Three small real episodes: two stations, a Chinese instruction, one validated and annotated."""
    d = tmp_path_factory.mktemp("episodes")
    a = make_episode(d, seed=0)
    b = make_episode(d, seed=1, station="st-02", operator="bo", instruction="把红色方块放进蓝色箱子")
    c = make_episode(d, seed=2, station="st-02", dataset="other")
    episodes.validate_episode(a, write=True)
    episodes.annotate_episode(a)
    episodes.set_review(b, episodes.ReviewState("approved", "", "good", "ana", 123))
    return a, b, c


@pytest.fixture
def catalogue(tmp_path):
    with Catalogue.open(Store(tmp_path)) as opened:
        yield opened


def test_record_from_file_reads_everything_from_the_episode(files):
    a, b, _ = files
    rec = record_from_file(a)
    with episodes.open(a) as ep:
        meta = ep.metadata
    assert (rec.episode_id, rec.raw_digest, rec.station, rec.task) == (
        meta.episode_id,
        meta.content_digest,
        "st-01",
        "pick_place",
    )
    assert rec.qa_passed is False and rec.qa_errors == {"episode.duration": 1}  # 0.5 s is too short
    assert rec.annotations["annotated"] is True and rec.annotations["instruction_source"] == "metadata"
    assert rec.cameras == {"head": 5} and rec.size_bytes == a.stat().st_size
    assert rec.file_sha256 == file_sha256(a) and rec.success is True
    assert (rec.review_state, rec.review) == ("pending", None)
    rec_b = record_from_file(b)
    assert (rec_b.qa_passed, rec_b.annotations, rec_b.review_state, rec_b.reviewer) == (
        None,
        {"annotated": False},
        "approved",
        "ana",
    )
    assert rec_b.review == episodes.ReviewState("approved", "", "good", "ana", 123)
    assert EpisodeRecord.from_json(rec_b.to_json()) == rec_b
    with pytest.raises(SiteError, match=r"episode record lacks fields \['station'\]"):
        EpisodeRecord.from_json({k: v for k, v in rec_b.to_json().items() if k != "station"})


def test_upsert_get_and_find_by_digest(catalogue, files):
    rec = record_from_file(files[0])
    assert catalogue.get(rec.episode_id) is None
    catalogue.upsert(rec)
    assert catalogue.get(rec.episode_id) == rec
    assert catalogue.find_by_digest(rec.raw_digest) == rec
    assert catalogue.find_by_digest("0" * 64) is None
    changed = dataclasses.replace(rec, instruction="换一个", has_thumbnail=True)
    catalogue.upsert(changed)
    assert catalogue.get(rec.episode_id) == changed
    catalogue.mark_trashed(rec.episode_id, at_ns=5)
    catalogue.upsert(changed)  # a later upsert (arrival finishing late) keeps the trash mark
    assert catalogue.get(rec.episode_id).trashed_at_ns == 5
    catalogue.delete(rec.episode_id)
    assert catalogue.get(rec.episode_id) is None


def _synthetic(base: EpisodeRecord, n: int) -> list[EpisodeRecord]:
    return [
        dataclasses.replace(
            base,
            episode_id=f"01J{i:023d}",
            station=f"st-{i % 3}",
            duration_s=float(i % 7),
            recorded_at_ns=1_000 + i // 2,  # ties, so the id breaks them
            success=i % 2 == 0,
            instruction="抓取 cube" if i % 5 == 0 else "wave 100%",
        )
        for i in range(n)
    ]


def test_query_filters_sorts_and_pages_without_repeats(catalogue, files):
    rows = _synthetic(record_from_file(files[0]), 50)
    catalogue.upsert_many(rows)
    seen: list[str] = []
    query = EpisodeQuery(
        station=("st-1", "st-2"), success=True, sort="duration", descending=True, page_size=4
    )
    page = catalogue.query(query)
    while True:
        seen += [r.episode_id for r in page.records]
        if page.next_cursor is None:
            break
        page = catalogue.query(query.page_after(page.next_cursor))
    expected = sorted(
        (r for r in rows if r.station in ("st-1", "st-2") and r.success),
        key=lambda r: (r.duration_s, r.episode_id),
        reverse=True,
    )
    assert seen == [r.episode_id for r in expected]
    assert [r.episode_id for r in catalogue.iter_query(EpisodeQuery(page_size=7))] == sorted(
        r.episode_id for r in rows
    )
    text = catalogue.query(EpisodeQuery(instruction_text="抓取", page_size=100)).records
    assert len(text) == 10
    assert catalogue.query(EpisodeQuery(instruction_text="e%")).records == ()  # % is literal, no wildcard
    assert len(catalogue.query(EpisodeQuery(instruction_text="100%", page_size=100)).records) == 40
    since = catalogue.query(EpisodeQuery(since_ns=1_010, until_ns=1_012)).records
    assert [r.episode_id for r in since] == [f"01J{i:023d}" for i in range(20, 24)]
    page = catalogue.query(EpisodeQuery(page_size=3))
    assert EpisodePage.from_json(page.to_json()) == page


def test_bad_queries_are_refused(catalogue, files):
    with pytest.raises(QueryError, match="sort key 'colour' is not one of recorded_at, duration"):
        EpisodeQuery(sort="colour")
    with pytest.raises(QueryError, match="page size 0 is out of range; ask for 1 to 1000"):
        EpisodeQuery(page_size=0)
    with pytest.raises(QueryError, match=r"unknown query fields \['colour'\]"):
        EpisodeQuery.from_json({"colour": "red"})
    with pytest.raises(QueryError, match="is not one this site gave out"):
        catalogue.query(EpisodeQuery(cursor="!!!"))
    catalogue.upsert_many(_synthetic(record_from_file(files[0]), 3))
    page = catalogue.query(EpisodeQuery(sort="size", page_size=1))
    with pytest.raises(QueryError, match="does not continue a query sorted by 'duration'"):
        catalogue.query(EpisodeQuery(sort="duration", cursor=page.next_cursor))


def test_trash_and_purge(tmp_path, files):
    store = Store(tmp_path)
    with Catalogue.open(store) as catalogue:
        rec = record_from_file(files[2])
        staged = store.incoming_path("u")
        staged.write_bytes(files[2].read_bytes())
        store.commit(staged, rec.episode_id)
        catalogue.upsert(rec)
        store.trash(rec.episode_id)
        catalogue.mark_trashed(rec.episode_id, at_ns=100)
        assert catalogue.query(EpisodeQuery()).records == ()
        assert len(catalogue.query(EpisodeQuery(include_trashed=True)).records) == 1
        assert catalogue.purge_trash(store, before_ns=100) == []
        assert catalogue.purge_trash(store, before_ns=101) == [rec.episode_id]
        assert not store.trash_path(rec.episode_id).exists() and catalogue.get(rec.episode_id) is None
        with pytest.raises(SiteError, match=f"episode {rec.episode_id} is not in the catalogue"):
            catalogue.mark_trashed(rec.episode_id)


def test_audit_tasks_and_selections(catalogue, files):
    spec = TaskSpec("叠毛巾", "test_arm", ("fold the towel",), target_episodes=4, stations=("st-02",))
    task = catalogue.create_task(spec)
    assert catalogue.get_task(task.task_id) == task and catalogue.list_tasks() == [task]
    with pytest.raises(SiteError, match="a task named '叠毛巾' exists already"):
        catalogue.create_task(spec)
    with pytest.raises(UnknownTaskError, match="no task 'nope' on this site"):
        catalogue.get_task("nope")
    base = record_from_file(files[0])
    rows = [
        dataclasses.replace(r, task_id=task.task_id, review_state=state, duration_s=1800.0)
        for r, state in zip(_synthetic(base, 3), ("approved", "rejected", "approved"), strict=True)
    ]
    catalogue.upsert_many(rows)
    progress = catalogue.task_progress(task.task_id)
    assert (progress.episodes, progress.approved, progress.rejected, progress.hours) == (3, 2, 1, 1.5)
    assert progress.fraction == 0.5
    catalogue.audit("ana", "review", rows[0].episode_id, {"state": "approved"})
    catalogue.audit("site", "arrival", rows[1].episode_id, {})
    log = catalogue.audit_log(rows[0].episode_id)
    assert [(e.actor, e.action, dict(e.detail)) for e in log] == [("ana", "review", {"state": "approved"})]
    assert len(catalogue.audit_log()) == 2
    for value in (log[0], task, progress, selection_of(catalogue)):
        assert type(value).from_json(value.to_json()) == value  # what crosses the HTTP boundary
    with pytest.raises(
        SiteError, match=r"unknown task fields \['target'\]; known: active, instructions, name"
    ):
        TaskSpec.from_json({"name": "x", "target": 5})
    selection = catalogue.save_selection("approved", EpisodeQuery(review_state=("approved",), page_size=1))
    assert selection.query.review_state == ("approved",)
    assert catalogue.resolve_selection("approved") == [(r.episode_id, r.file_sha256) for r in rows[::2]]
    with pytest.raises(UnknownTaskError, match="no selection named 'x' on this site"):
        catalogue.resolve_selection("x")


def selection_of(catalogue):
    return catalogue.save_selection("st-02 successes", EpisodeQuery(station=("st-02",), success=True))


def test_planner_statistics_follow_the_row_count(catalogue, files):
    assert catalogue.optimize() is False  # an empty catalogue needs none
    rows = _synthetic(record_from_file(files[0]), 1200)
    for at in range(0, 1200, 400):  # every thousand rows written, they are checked
        catalogue.upsert_many(rows[at : at + 400])
    with catalogue.engine.connect() as connection:
        stat = connection.exec_driver_sql("SELECT stat FROM sqlite_stat1 WHERE tbl = 'episodes'").scalar()
    assert stat.split()[0] == "1200"
    assert catalogue.optimize() is False and catalogue.optimize(force=True) is True
    # With them, a low-selectivity filter reads the sort key's index in order instead of sorting.
    statement = episode_statement(EpisodeQuery(review_state=("pending",), sort="duration"))
    sql = str(statement.compile(catalogue.engine, compile_kwargs={"literal_binds": True}))
    with catalogue.engine.connect() as connection:
        plan = " ".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "ix_episodes_duration_s_episode_id" in plan and "TEMP B-TREE" not in plan
