"""Commands that publish and serve the tracker and search it: publish, serve, search."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cli import DB_ARGUMENT, cli, connect, echo_json, echo_table, fail
from ..errors import TrackerError
from ..ingest import KINDS
from ..search import MODES


@cli.command(name="publish")
@DB_ARGUMENT
@click.option(
    "--metadata-out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the Datasette metadata (default: metadata.json beside DB)."
)
@click.option("--rebuild", is_flag=True, help="Re-read every row into the full-text indexes.")
@click.option(
    "--to", "to", type=click.Path(file_okay=False, path_type=Path), metavar="DIR", help="Also write a read-replica bundle to DIR (new or empty; see --force)."
)
@click.option("--force", is_flag=True, help="With --to: replace DIR even if it is not empty.")
@click.option("--json", "as_json", is_flag=True, help="Print what was built (and the bundle's files) as JSON.")
def publish_command(db: Path, metadata_out: Path | None, rebuild: bool, to: Path | None, force: bool, as_json: bool) -> None:
    """Prepare DB for Datasette: full-text indexes, views and metadata; with --to, a replica bundle.

    Builds FTS5 indexes (porter stemming, kept current by triggers) on passages, recommendations and
    documents; the views recommendation_progress, government_positions, stakeholder_positions and
    evidence_timeline; and writes the generated metadata (descriptions, facets, canned queries).
    Safe to run again.

    --to DIR writes a bundle to deploy as any number of read replicas behind a load balancer: a
    consistent snapshot of DB served immutable, its metadata, the tracker (and its plugin) as a wheel,
    pinned requirements, the search model when DB has passage vectors, Datasette's own Dockerfile
    and a README saying how to run it. Ingest and review stay on one writer (DB). The bundle is
    built beside DIR and renamed into place, so an interrupted publish leaves DIR as it was.
    """
    from .. import bundle as bundling
    from .. import publish as publishing

    try:
        if to:
            bundling.check_target(db, to, force)  # refuse before anything is written
        database = connect(db)
        summary = publishing.publish(database, rebuild=rebuild)
        database.close()
        out = publishing.write_metadata(db, metadata_out)
        made = bundling.write_bundle(db, to, force) if to else None
    except TrackerError as error:
        fail(str(error))
    if as_json:
        echo_json({**summary, "metadata": str(out), **({"bundle": made.as_dict()} if made else {})})
        return
    indexed = ", ".join(f"{table} ({n})" for table, n in summary["fts"].items())
    click.echo(f"full-text indexes: {indexed}\nviews: {', '.join(summary['views'])}\nmetadata: {out}")
    if made:
        search = "words and meaning" if made.semantic_search else "words only (no passage vectors)"
        click.echo(f"bundle: {made.path} ({len(made.files)} files; search by {search}; how to run it: README.md)")


@cli.command(name="serve")
@DB_ARGUMENT
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8001, show_default=True, type=int, help="Port to listen on.")
@click.option("--immutable", is_flag=True, help="Serve DB as a snapshot nobody writes to (datasette -i; default: live, sees every ingest).")
@click.option("--no-immutable", is_flag=True, hidden=True, help="Deprecated: live serving is the default.")
@click.option("--metadata-out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the metadata (default: metadata.json beside DB).")
@click.option(
    "--users",
    "users_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Reviewers' accounts (default: DB.users.json beside DB; see `tracker users`).",
)
def serve_command(db: Path, host: str, port: int, immutable: bool, no_immutable: bool, metadata_out: Path | None, users_file: Path | None) -> None:
    """Serve DB in Datasette with the tracker pages, until Ctrl-C or a TERM, INT or HUP signal.

    Publishes DB first when its full-text indexes or views are missing or older, writes the metadata
    and runs `datasette serve DB -m metadata.json` with the review_tracker plugin:
    /-/tracker/dashboard, /-/tracker/search and /-/tracker/recommendation/<id>. DB stays live: a
    document ingested by another process shows on the next page load. Use --immutable only for a
    published snapshot that nothing writes to. Reviewers added with `tracker users add` sign in at
    /-/login and confirm or reject links at /-/tracker/review; everyone else reads only.
    """
    from .. import serve as serving

    connect(db).close()  # a readable error for a missing or broken database
    click.echo(f"serving {db} on http://{host}:{port}/-/tracker/dashboard (Ctrl-C to stop)", err=True)
    code = serving.serve(db, host=host, port=port, immutable=immutable and not no_immutable, metadata_out=metadata_out, users_file=users_file)
    if code:
        sys.exit(code)


@cli.command(name="search")
@DB_ARGUMENT
@click.argument("query")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True, help="Words and meaning fused, words (FTS5) or meaning only.")
@click.option("--kind", type=click.Choice(KINDS), help="Only passages of documents of this kind.")
@click.option("--publisher", help="Only passages of documents by this publisher.")
@click.option("--since", help="Only documents published on or after this date (YYYY[-MM[-DD]]).")
@click.option("--until", help="Only documents published on or before this date (YYYY[-MM[-DD]]).")
@click.option("--recommendation", "recommendation", metavar="REF", help="Only passages linked to this recommendation (id, slug, label, number or key).")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="How many passages to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def search_command(db: Path, query: str, mode: str, limit: int, as_json: bool, recommendation: str | None, **given: str | None) -> None:
    """Search the passages of DB by words and meaning, as the Datasette search page does.

    Full-text (BM25) and embedding similarity rankings fused by reciprocal rank; without passage
    embeddings or the model, words only (said on stderr). DB must be published (`tracker publish`).
    """
    from ..ingest import normalise_date
    from ..publish import is_published
    from ..search import Filters, find_recommendation, search

    database = connect(db)
    if not is_published(database):
        fail(f"{db} is not published (or was published by an older version): run `tracker publish {db}` first")
    try:
        dates = {name: normalise_date(given[name]) for name in ("since", "until")}
        rec = find_recommendation(database, recommendation) if recommendation else None
        result = search(database, query, mode, Filters(given["kind"], given["publisher"], dates["since"], dates["until"], rec["id"] if rec else None), limit)
    except TrackerError as error:
        fail(str(error))
    if as_json:
        echo_json(result.as_dict())
        return
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    rows = [
        {"#": rank, "words": hit["fts_rank"], "meaning": hit["vector_rank"], "date": hit["date"], "publisher": hit["publisher"],
         "recommendations": ", ".join(r["label"] for r in hit["recommendations"]), "text": hit["text"]}
        for rank, hit in enumerate(result.hits, start=1)
    ]  # fmt: skip
    echo_table(rows, ["#", "words", "meaning", "date", "publisher", "recommendations", "text"])
    click.echo(f"{len(result.hits)} passages ({result.mode_used}: {result.fts_hits} word matches, {result.vector_hits} nearest by meaning)", err=True)
