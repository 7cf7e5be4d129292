"""The worker: one long-lived process that owns the model, catalog, index and folder watchers.

Threads inside it, each with one job:
- the command thread (the process's main thread) reads commands from the pipe and routes them;
- the query thread answers searches and status at normal priority, one at a time, newest
  search first (a search overtaken by a newer one is answered Superseded, without work);
- the writer thread, at background priority, is the library's only writer: it reconciles the
  folders, applies the watcher's batches, folder changes and pause, and runs the indexer. Before
  each inference batch it applies pending jobs and waits while a query runs, so a search never
  queues behind the backlog;
- watchdog's observer threads feed a ChangeCollector.
Everything the writer does is committed to the catalog in transactions: a SIGKILL at any moment
loses at most the batch in flight, and the next start reconciles and resumes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from photosearch.core.cpu import decode_threads, default_threads, make_current_thread_background
from photosearch.core.library import (
    CatalogDamaged,
    Library,
    LibraryBusy,
    LibraryMissing,
    LibraryReadOnly,
    download_model,
    gpu_possible,
    list_models,
)
from photosearch.errors import UserError, means_disk_full, one_line, plain_line
from photosearch.records import (
    FolderChange,
    FolderState,
    LibraryStatus,
    ModelInfo,
    Progress,
    WorkerState,
    WorkerStats,
    WorkerStatus,
    unreadable_note,
)

from . import protocol as p
from .protocol import CRASH_EXIT, OFFLINE_EXIT, WRITABLE_EXIT, WorkerSettings
from .watcher import ChangeCollector, FolderWatcher

log = logging.getLogger(__name__)
WRITER_JOBS = (p.AddFolder, p.RemoveFolder, p.MakeThumbnails, p.SetExcluded, p.NotDuplicates)  # the writer thread's

OFFLINE_NOTE = "folder missing, empty or unreadable; its photos are kept"


class _QueryGate:
    """Counts running queries; the writer waits at its next batch boundary while any runs."""

    def __init__(self) -> None:
        self._active = 0
        self._cond = threading.Condition()

    def __enter__(self) -> None:
        with self._cond:
            self._active += 1

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._active == 0, timeout)


class Worker:
    def __init__(self, settings: WorkerSettings, emit: Callable[[p.Event], None]) -> None:
        self.settings = settings
        self.emit = emit
        self.threads = settings.threads or default_threads()
        # decoding runs below inference, one thread per core, unless the user set a limit
        self.decode_threads = settings.threads or decode_threads()
        self.search_only = ""  # why this worker only searches (another writer, a read-only folder)
        try:
            self.library = self._open_library(for_reading=False)
            self.library.claim_writer()
        except (LibraryBusy, LibraryReadOnly) as exc:
            if not settings.search_only_ok:
                raise
            if getattr(self, "library", None) is not None:
                self.library.close()
            busy = isinstance(exc, LibraryBusy)
            self.search_only = "another photosearch process is indexing it" if busy else "its folder cannot be written"
            self.library = self._open_library(for_reading=True)
        self.collector = ChangeCollector(settings.quiet_s, settings.max_wait_s)
        self.watcher = FolderWatcher(self.collector, self._on_watch_problem)
        self.stopping = threading.Event()
        self._jobs: queue.Queue[p.Command] = queue.Queue()
        self._queries = ThreadPoolExecutor(1, thread_name_prefix="query")
        self._gate = _QueryGate()
        self._latest_search = 0
        self._paused = threading.Event()
        self._rescan = threading.Event()
        self._state = WorkerState.STARTING
        self._stats = {"syncs": 0, "embedded": 0, "skipped": 0, "reconciles": 0, "queries": 0}  # see WorkerStats
        self._last_poll = 0.0
        self._scanned_at: dict[str, float] = {}
        self._writer = threading.Thread(target=self._writer_main, name="writer", daemon=True)
        self._prepared = False  # the library switched to the loaded model
        self._model_loaded = threading.Event()
        self._model_error: str | None = None
        self._loader = threading.Thread(target=self._load_model, name="model-loader", daemon=True)
        self._download_cancel = threading.Event()

    def _open_library(self, for_reading: bool) -> Library:
        settings = self.settings
        try:
            return Library(
                Path(settings.home) if settings.home else None,
                model=settings.model,
                device=settings.device,
                threads=self.threads,
                random_weights=settings.random_weights,
                backend=settings.backend,
                create=settings.create_library and not for_reading,
                for_reading=for_reading,
            )
        except LibraryMissing as exc:
            raise p.LibraryOffline(str(exc)) from None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._loader.start()  # importing torch takes seconds: overlap it with the first scan
        if self.search_only:
            threading.Thread(target=self._search_only_main, name="search-only", daemon=True).start()
            return
        self.watcher.start()
        self._writer.start()

    def _search_only_main(self) -> None:
        """No writer here: answer searches, say so once, and look now and then for the moment
        the library can be written (the other writer done, the folder writable again); then
        this worker steps down so that one that writes takes its place."""
        self._set_state(WorkerState.SEARCH_ONLY)
        self.emit(p.WorkerProblem(f"read-only: searching only ({self.search_only}); indexing resumes by itself when it can"))
        while not self.stopping.wait(self.settings.poll_s):
            if self.library.could_write():
                log.info("the library can be written again: a worker that writes takes over")
                self.library.close()
                os._exit(WRITABLE_EXIT)

    def _load_model(self) -> None:
        try:
            self.library.load_model()
        except Exception as exc:  # e.g. weights missing: the library keeps its model, folders stay current
            if not isinstance(exc, UserError):
                log.exception("loading the model failed")
            self._model_error = one_line(exc)
            until = "photos are not indexed until it can"
            self.emit(
                p.WorkerProblem(
                    f"cannot load the model: {self._model_error}; {until}", f"cannot load the model: {plain_line(exc)}; {until}"
                )
            )
        finally:
            self._model_loaded.set()

    def _download(self, command: p.DownloadModel) -> None:
        """Download weights off the command thread; a download of the worker's own model that was
        missing lets it load now, and indexing starts."""
        try:
            path = download_model(
                command.name or self.library.model,
                self.library.home,
                on_progress=lambda progress: self.emit(p.ModelDownload(progress)),
                cancel=self._download_cancel,
            )
        except UserError as exc:
            self.emit(p.Failed.because(command.request_id, exc))
            return
        except Exception as exc:
            log.exception("downloading %s failed", command.name)
            self.emit(p.Failed.because(command.request_id, exc))
            return
        self.emit(p.Reply(command.request_id, str(path)))
        if self._model_error is not None and (command.name or self.library.model) == self.library.model:
            self._model_error = None
            self._model_loaded.clear()
            self._loader = threading.Thread(target=self._load_model, name="model-loader", daemon=True)
            self._loader.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        self._download_cancel.set()
        self.collector.wake()
        if self._writer.ident is not None:
            self._writer.join(timeout)
        self._queries.shutdown(wait=True, cancel_futures=True)
        if not self.search_only:
            self.watcher.stop()
        self.library.close()  # saves the index snapshot

    # -- commands (command thread) --------------------------------------------------------

    def handle(self, command: p.Command) -> None:
        if isinstance(command, p.Search):
            self._latest_search = max(self._latest_search, command.request_id)
            self._queries.submit(self._answer, command)
        elif isinstance(command, p.Similar | p.Status | p.Duplicates):
            self._queries.submit(self._answer, command)
        elif isinstance(command, p.Pause):
            self._paused.set()
            self.emit(p.Reply(command.request_id))
            self._set_state(WorkerState.PAUSED)
        elif isinstance(command, p.Resume):
            self._paused.clear()
            self.collector.wake()
            self.emit(p.Reply(command.request_id))
        elif isinstance(command, p.DownloadModel):
            self._download_cancel.clear()
            threading.Thread(target=self._download, args=(command,), name="download", daemon=True).start()
        elif isinstance(command, p.CancelDownload):
            self._download_cancel.set()
            self.emit(p.Reply(command.request_id))
        elif isinstance(command, WRITER_JOBS) and self.search_only:
            self.emit(p.Failed(command.request_id, f"read-only: the library cannot be changed now ({self.search_only})"))
        elif isinstance(command, WRITER_JOBS):
            self._jobs.put(command)
            self.collector.wake()
        elif isinstance(command, p.Shutdown):
            self.emit(p.Reply(command.request_id))
            self.stopping.set()
            self.collector.wake()
        else:
            self.emit(p.Failed(command.request_id, f"unknown command {type(command).__name__}"))

    def _answer(self, command: p.Command) -> None:
        if isinstance(command, p.Search) and command.request_id < self._latest_search:
            self.emit(p.Superseded(command.request_id))
            return
        started = time.perf_counter()
        try:
            with self._gate:
                if isinstance(command, p.Status):
                    self.emit(p.Reply(command.request_id, self.status(command.include_paths, command.counts_only)))
                    return
                if isinstance(command, p.Duplicates):
                    page = self.library.duplicate_page(command.kind, command.strictness, command.offset, command.limit)
                    self.emit(p.Reply(command.request_id, page))
                    return
                if isinstance(command, p.Search):
                    results = self.library.search(
                        command.text, command.images, command.k, command.cutoff, where=command.where, fold=command.fold
                    )
                else:
                    assert isinstance(command, p.Similar)
                    results = self.library.similar(
                        Path(command.path), command.k, command.cutoff, where=command.where, fold=command.fold
                    )
            self._stats["queries"] += 1
            self.emit(p.Results(command.request_id, results, (time.perf_counter() - started) * 1000))
        except UserError as exc:  # a bad query is the user's problem to read about, never a crash
            self.emit(p.Failed.because(command.request_id, exc))
        except Exception as exc:  # a bug: logged with its traceback, and still never a crash
            log.exception("answering %s failed", type(command).__name__)
            self.emit(p.Failed.because(command.request_id, exc))

    def status(self, include_paths: bool = False, counts_only: bool = False) -> LibraryStatus:
        worker = WorkerStatus(
            pid=os.getpid(),
            state=self._state,
            paused=self._paused.is_set(),
            dirty_paths=len(self.collector),
            idle=self._state is WorkerState.IDLE and not len(self.collector) and self._jobs.empty(),
            watched=tuple(sorted(self.watcher.watched())),
            inference_threads=self.library.inference_threads or self.threads,
            decode_threads=self.decode_threads,
            stats=WorkerStats(**self._stats, events=self.collector.events),
            inference_backend=self.library.inference_backend[0],
            backend_note=self.library.inference_backend[1],
        )
        return dataclasses.replace(self.library.status(include_paths, counts_only=counts_only), worker=worker)

    def gpu_possible(self) -> bool:
        """Whether this computer could run the model on a GPU (for a window's settings)."""
        return gpu_possible()

    def model_choices(self) -> list[ModelInfo]:
        """The models this library can use, built in and imported, and whether each one's
        weights are here (for a window's settings)."""
        return list_models(self.library.home)

    # -- the writer thread ----------------------------------------------------------------

    def _writer_main(self) -> None:
        make_current_thread_background()
        try:
            self._set_state(WorkerState.SCANNING)
            self._when_there_is_room(self._reconcile)
            self._prepared = False
            while not self.stopping.is_set():
                self._when_there_is_room(self._write_step)
        except BaseException as exc:  # a writer that died silently would leave a zombie worker
            log.exception("the worker's writer thread failed")
            self.emit(p.WorkerProblem(f"the indexer stopped: {one_line(exc)}"))
            os._exit(CRASH_EXIT)

    def _when_there_is_room(self, step: Callable[[], None]) -> None:
        """Run one step of the writer; a full disk pauses writing (searches go on), says so once,
        and the step is tried again now and then until there is room (then indexing resumes by
        itself). Nothing is lost: what failed to commit is still pending."""
        said = False
        while not self.stopping.is_set():
            try:
                step()
            except Exception as exc:
                if not means_disk_full(exc):
                    raise
                if not said:
                    log.warning("disk full: %s", one_line(exc))
                    self.emit(p.WorkerProblem(f"disk full: indexing paused until {self.library.home} has room again"))
                    said = True
                self._set_state(WorkerState.DISK_FULL)
                self._rescan.set()  # changes taken from the watcher may not have been written
                self.stopping.wait(self.settings.disk_full_retry_s)
                continue
            if said:
                log.info("the disk has room again: indexing resumes")
            return

    def _write_step(self) -> None:
        """One turn of the writer: jobs, then indexing, thumbnails or idle upkeep."""
        self._do_jobs()
        if not self._model_loaded.is_set():
            self._set_state(WorkerState.LOADING_MODEL)
            self._model_loaded.wait(0.2)
            return
        if self._model_error is not None:  # folders stay current; nothing is embedded or switched
            self._set_state(WorkerState.MODEL_UNAVAILABLE)
            self.collector.wait(0.5)
            return
        if not self._prepared:  # only now that the model loaded may the library switch to it
            self.library.prepare_indexing()
            self._prepared = True
        if self._paused.is_set():
            self._set_state(WorkerState.PAUSED)
            self.collector.wait(0.5)
            return
        if self.library.pending_count():
            self._set_state(WorkerState.INDEXING)
            report = self.library.run_indexing(
                batch_size=self.settings.batch_size,
                decode_workers=self.decode_threads,
                on_progress=self._on_progress,
                on_skipped=self._on_skipped,
                cancel=self.stopping,
                before_batch=self._before_batch,
                final_save=False,
            )
            self._stats["embedded"] += report.indexed
            if report.indexed or report.skipped:
                self.emit(p.LibraryChanged())
            return
        made, tried = self.library.make_thumbnails(cancel=self.stopping)  # missing ones (or a library from before them)
        if made:
            self.emit(p.ThumbnailsMade(tuple(made)))
        if tried:
            self._set_state(WorkerState.MAKING_THUMBNAILS)
            return
        if self.library.group_duplicates(cancel=self.stopping):  # an existing library, a slice at a time
            self._set_state(WorkerState.FINDING_DUPLICATES)
            return
        self._set_state(WorkerState.IDLE)
        self.library.calibrate_search(background=True)  # a new graph: measure its recall
        try:
            self.library.maybe_back_up()  # a stat while fresh; a verified copy once a day
        except CatalogDamaged as exc:  # said once a day at most; searching and indexing go on
            self.emit(p.WorkerProblem(str(exc)))
        self.collector.wait(min(0.5, self.settings.poll_s))

    def _before_batch(self) -> None:
        """Between inference batches: apply jobs, honour pause, let running queries finish first."""
        self._do_jobs()
        while self._paused.is_set() and not self.stopping.is_set():
            self._set_state(WorkerState.PAUSED)
            self.collector.wait(0.5)
            self._do_jobs()
        self._set_state(WorkerState.INDEXING)
        self._gate.wait_idle(timeout=2.0)

    def _do_jobs(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            self._run_job(job)
        if time.monotonic() - self._last_poll >= self.settings.poll_s:
            self._last_poll = time.monotonic()
            self._check_folders()
        if self._rescan.is_set():
            self._rescan.clear()
            self._reconcile()
        paths = self.collector.take()
        if paths:
            self._sync_paths(paths)

    def _run_job(self, job: p.Command) -> None:
        try:
            if isinstance(job, p.AddFolder):
                folder = self.library.add_folder(Path(job.path))
                self.emit(p.FolderChanged(folder, FolderChange.ADDED))
                self._reconcile([folder])
                self.emit(p.Reply(job.request_id, folder))
            elif isinstance(job, p.RemoveFolder):
                target = str(Path(job.path).expanduser().resolve())
                self.watcher.unwatch(target)
                removed = self.library.remove_folder(Path(target))
                self.emit(p.FolderChanged(target, FolderChange.REMOVED, f"{removed} photos forgotten"))
                self.emit(p.LibraryChanged())
                self.emit(p.Reply(job.request_id, removed))
            elif isinstance(job, p.SetExcluded):
                excluded = self.library.set_excluded(job.paths)
                self._reconcile()  # excluded photos leave now, included ones come back
                self.emit(p.Reply(job.request_id, excluded))
            elif isinstance(job, p.MakeThumbnails):
                self.library.remake_thumbnails(job.photo_ids)
                self.emit(p.Reply(job.request_id))
            elif isinstance(job, p.NotDuplicates):
                self.library.not_duplicates(job.photo_ids)
                self.emit(p.Reply(job.request_id))
        except UserError as exc:
            self.emit(p.Failed.because(job.request_id, exc))
        except Exception as exc:
            if means_disk_full(exc):  # answered, then the writer waits for room
                self.emit(p.Failed(job.request_id, f"disk full: {self.library.home} has no room for this change"))
            raise

    def _reconcile(self, only: list[str] | None = None) -> None:
        """Scan folders fully against the catalog (at start, on request, after lost events)."""
        self._stats["reconciles"] += 1
        folders = [f for f in self.library.folders(counts=False) if only is None or f.path in only]
        for folder in folders:  # watch first: what changes during the scan is caught as events
            if os.path.isdir(folder.path):
                self.watcher.watch(folder.path)
        report = self.library.reconcile([f.path for f in folders])
        if report.touched:
            self.emit(p.LibraryChanged())
        now = time.monotonic()
        for folder in folders:
            self._scanned_at[folder.path] = now
            if folder.path in report.offline:
                self.watcher.unwatch(folder.path)
                if folder.state is not FolderState.OFFLINE:
                    self.emit(p.FolderChanged(folder.path, FolderChange.OFFLINE, OFFLINE_NOTE))
            elif folder.state is FolderState.OFFLINE:
                self.emit(p.FolderChanged(folder.path, FolderChange.ONLINE))
        self._report_unreadable(report.unreadable)

    def _sync_paths(self, paths: set[str]) -> None:
        self._stats["syncs"] += 1
        report, deferred = self.library.sync_paths(paths, self.settings.settle_s)
        if report.touched:
            self.emit(p.LibraryChanged())
        if deferred:
            self.collector.add(deferred, not_before=time.monotonic() + self.settings.settle_s)
        for path in report.offline:
            self.watcher.unwatch(path)
            self.emit(p.FolderChanged(path, FolderChange.OFFLINE, OFFLINE_NOTE))
        self._report_unreadable(report.unreadable)

    def _report_unreadable(self, paths: tuple[str, ...]) -> None:
        for path in paths:
            self.emit(p.WorkerProblem(unreadable_note(path)))

    def _check_folders(self) -> None:
        """Offline folders that came back, online ones that vanished, unwatchable ones, a dead
        observer; and the library itself gone (its drive unplugged, its folder deleted): then
        the worker stops at once, before it writes anything anywhere, and is started again when
        the library is back."""
        if not self.library.layout.catalog.exists():
            self.emit(
                p.WorkerProblem(f"the library {self.library.home} is gone (a drive unplugged, or a folder moved or deleted?)")
            )
            os._exit(OFFLINE_EXIT)
        if not self.watcher.healthy():
            self._on_watch_problem("", "the folder watcher stopped; restarting it")
            self.watcher.restart()
            self._rescan.set()
        watched = self.watcher.watched()
        available = self.library.available_folders()
        for folder in self.library.folders(counts=False):
            present = folder.path in available
            if folder.state is FolderState.OFFLINE and present:
                self._reconcile([folder.path])
            elif folder.state is FolderState.ONLINE and not present:
                self._sync_paths({folder.path})
            elif (
                present
                and folder.path not in watched
                and time.monotonic() - self._scanned_at.get(folder.path, 0.0) >= self.settings.rescan_s
            ):
                self._reconcile([folder.path])

    def _on_watch_problem(self, folder: str, message: str) -> None:
        self.emit(p.WorkerProblem(message))
        if not folder:  # events were lost somewhere: only a full scan is sure
            self._rescan.set()
            self.collector.wake()

    # -- progress -------------------------------------------------------------------------

    def _on_progress(self, progress: Progress) -> None:
        self.emit(p.IndexingProgress(progress))

    def _on_skipped(self, path: str, reason: str) -> None:
        self._stats["skipped"] += 1
        self.emit(p.Skipped(path, reason))

    def _set_state(self, state: WorkerState) -> None:
        if state != self._state:
            self._state = state
            self.emit(p.StateChanged(state))
