"""Server: holds the services of one process, starts them in dependency order, stops them.

`run()` is the per-process loop body (the later worker processes each run one); `run_forever()`
picks the event loop, watches signals and blocks. Every wait during shutdown is bounded by the
configuration's grace period and shutdown timeout, so stopping never hangs.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, NoReturn

import anyio

from pingora_core.errors import Error
from pingora_core.server._conf import ServerConf
from pingora_core.server._config_error import ConfigError
from pingora_core.server._loop import choose_event_loop, run_bounded
from pingora_core.server._opt import Opt
from pingora_core.server._phases import ExecutionPhase, PhaseIterator, PhaseTracker
from pingora_core.server._signals import ShutdownSignal, install_signal_handlers
from pingora_core.server.shutdown import ShutdownTrigger, ShutdownWatch

if TYPE_CHECKING:
    from pingora_core.services._base import ServiceBase
    from pingora_core.services._dependencies import ServiceHandle

# The services package imports `server.shutdown`, so its modules are imported where used here.

__all__ = ["Server"]

log = logging.getLogger("pingora_core.server")

#: After a fast shutdown cancels the services: how long they get to unwind.
FAST_EXIT_SECONDS: Final = 1.0


class Server:
    """One server process: its configuration, its services and its life cycle.

    `Server(opt, conf)`: with an `Opt` from the command line, the configuration comes from
    `opt.conf` (a bad file prints one clear line to stderr and exits 1, like a CLI should);
    pass `conf` to configure it in code. Then `add_service`, `bootstrap()` and `run_forever()`
    (or `await run()` to embed it in your own loop).
    """

    def __init__(self, opt: Opt | None = None, conf: ServerConf | None = None) -> None:
        if opt is not None and not isinstance(opt, Opt):
            raise TypeError(f"opt must be an Opt, got {type(opt).__name__}")
        if conf is not None and not isinstance(conf, ServerConf):
            raise TypeError(f"conf must be a ServerConf, got {type(conf).__name__}")
        self.options = opt
        if conf is None:
            conf = ServerConf() if opt is None or opt.conf is None else _load_for_cli(opt.conf)
        elif opt is not None and opt.conf is not None:
            log.warning("ignoring --conf %s: a configuration was given in code", opt.conf)
        self.configuration: ServerConf = conf
        self._handles: list[ServiceHandle] = []
        self._phases = PhaseTracker()
        self._trigger = ShutdownTrigger()
        from pingora_core.services._base import ListenerFactory

        self._listeners = ListenerFactory()
        self._stop_event = asyncio.Event()
        self._fast_event = asyncio.Event()
        self._stop_kind: ShutdownSignal | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._started = False
        self._failure: tuple[ServiceHandle, BaseException] | None = None

    # -- services ----------------------------------------------------------------------------------

    def add_service(self, service: ServiceBase) -> ServiceHandle:
        """Add a service; the handle returned can depend on other handles."""
        from pingora_core.services._background import BackgroundService
        from pingora_core.services._base import ServiceBase
        from pingora_core.services._dependencies import ServiceHandle

        given: object = service
        if not isinstance(given, ServiceBase):
            hint = ""
            if isinstance(given, BackgroundService):
                hint = "; wrap a BackgroundService with background_service(name, task)"
            raise TypeError(f"add_service needs a service, got {type(service).__name__}{hint}")
        if self._started:
            raise RuntimeError("the server is already running: add services before run()")
        handle = ServiceHandle(service, self)
        self._handles.append(handle)
        return handle

    def add_services(self, services: Iterable[ServiceBase]) -> list[ServiceHandle]:
        """`add_service` for each; returns the handles in the same order."""
        return [self.add_service(service) for service in services]

    @property
    def services(self) -> tuple[ServiceHandle, ...]:
        return tuple(self._handles)

    # -- phases and shutdown -----------------------------------------------------------------------

    @property
    def phase(self) -> ExecutionPhase:
        """The current execution phase."""
        return self._phases.phase

    @property
    def phase_history(self) -> tuple[ExecutionPhase, ...]:
        """Every phase entered so far, starting with Setup."""
        return self._phases.history

    def watch_phases(self) -> PhaseIterator:
        """An async iterator of phases: the current one, then each change, ending at Terminated."""
        return self._phases.subscribe()

    def on_phase(self, callback: Callable[[ExecutionPhase], object]) -> None:
        """Call `callback(phase)` on every later phase change (in the loop's thread)."""
        self._phases.add_callback(callback)

    @property
    def shutdown_watch(self) -> ShutdownWatch:
        """The watch handed to every service: fires when graceful shutdown starts."""
        return self._trigger.watch

    @property
    def event_loop_name(self) -> str:
        """The loop `run_forever` will use: "uvloop" or "asyncio" (env, then conf, decide)."""
        return choose_event_loop(self.configuration.event_loop)

    def request_shutdown(self, kind: ShutdownSignal = ShutdownSignal.GRACEFUL_TERMINATE) -> None:
        """Ask the server to stop, as a signal would; a second request cuts a graceful stop short.

        Safe to call from any thread.
        """
        if not isinstance(kind, ShutdownSignal):
            raise TypeError(f"kind must be a ShutdownSignal, got {type(kind).__name__}")
        loop = self._loop
        if loop is not None and self._loop_thread != threading.get_ident():
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._request, kind)
            return
        self._request(kind)

    def _request(self, kind: ShutdownSignal) -> None:
        if self._stop_kind is None:
            log.info("shutdown requested: %s", kind.value)
            self._stop_kind = kind
            self._stop_event.set()
        elif not self._fast_event.is_set():
            log.info("second shutdown request (%s): stopping now", kind.value)
            self._fast_event.set()

    # -- running -----------------------------------------------------------------------------------

    def bootstrap(self) -> None:
        """Prepare to run. With `-t`, print the validated configuration and exit 0."""
        if self.phase is not ExecutionPhase.SETUP:
            return
        self._phases.set(ExecutionPhase.BOOTSTRAP)
        if self.options is not None and self.options.test:
            source = self.options.conf or "default configuration"
            sys.stdout.write(self.configuration.to_yaml())
            sys.stdout.write(f"{source}: configuration test passed\n")
            sys.stdout.flush()
            raise SystemExit(0)
        self._phases.set(ExecutionPhase.BOOTSTRAP_COMPLETE)

    def run_forever(self) -> None:
        """Run until shut down (SIGTERM, SIGINT, SIGQUIT or `request_shutdown`), then return.

        A service that fails to start (e.g. its address is in use) prints one line to stderr
        and exits 1.
        """
        self.bootstrap()
        try:
            loop_name = self.event_loop_name
        except ConfigError as exc:
            _exit_with(str(exc))
        if self.configuration.daemon:
            log.warning("daemon mode is not available yet: running in the foreground")
        log.info("server starting on %s", loop_name)
        try:
            run_bounded(loop_name, self.run(handle_signals=True))
        except Error as exc:
            _exit_with(self._describe_failure(exc))

    async def run(self, *, handle_signals: bool = False) -> None:
        """Start every service, wait for a shutdown request, stop them; re-raise a start failure.

        `handle_signals=True` routes SIGINT/SIGTERM/SIGQUIT to the server (main thread only).
        A server runs once.
        """
        from pingora_core.services._dependencies import start_order

        if self._started:
            raise RuntimeError("a Server runs once: create a new one")
        self._started = True
        for handle in self._handles:
            handle._frozen = True
        self.bootstrap()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        remove_signals = (
            install_signal_handlers(self._loop, self._request) if handle_signals else None
        )
        tasks: dict[ServiceHandle, asyncio.Task[None]] = {}
        try:
            for handle in start_order(self._handles):
                tasks[handle] = asyncio.create_task(
                    self._run_service(handle), name=f"service {handle.name}"
                )
            self._phases.set(ExecutionPhase.RUNNING)
            try:
                await self._stop_event.wait()
            except asyncio.CancelledError:
                self._request(ShutdownSignal.FAST_SHUTDOWN)
                with anyio.CancelScope(shield=True):
                    await self._stop(tasks)
                raise
            await self._stop(tasks)
        finally:
            if remove_signals is not None:
                remove_signals()
            self._loop = None
        if self._failure is not None:
            raise self._failure[1]

    async def _run_service(self, handle: ServiceHandle) -> None:
        from pingora_core.services._base import ServiceContext

        watch = self._trigger.watch
        ctx = ServiceContext(shutdown=watch, ready=handle.ready, listeners=self._listeners)
        try:
            if handle.dependencies and not await self._wait_for(handle.dependencies):
                return
            if watch.is_shutting_down:
                return
            log.info("starting service %r", handle.name)
            await handle.service.start_service(ctx)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if not handle.is_ready and self._failure is None:
                log.info("service %r failed to start: %s", handle.name, exc)
                self._failure = (handle, exc)
                self._request(ShutdownSignal.FAST_SHUTDOWN)
            else:
                log.exception("service %r failed", handle.name)
            if not isinstance(exc, Exception):
                raise
        finally:
            handle.ready.notify_ready()  # never leave dependents waiting
            log.info("service %r stopped", handle.name)

    async def _wait_for(self, deps: tuple[ServiceHandle, ...]) -> bool:
        """Wait until every dependency is ready; False when shutdown came first."""
        waiting = asyncio.gather(*(dep.wait_ready() for dep in deps))
        stop = asyncio.ensure_future(self._trigger.watch.wait())
        futures: list[asyncio.Future[Any]] = [waiting, stop]
        try:
            await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            all_ready = waiting.done() and not waiting.cancelled()
            if not waiting.done():
                waiting.cancel()
        return all_ready

    async def _stop(self, tasks: dict[ServiceHandle, asyncio.Task[None]]) -> None:
        kind = self._stop_kind or ShutdownSignal.FAST_SHUTDOWN
        conf = self.configuration
        if kind.is_graceful:
            self._phases.set(ExecutionPhase.GRACEFUL_TERMINATE)
        self._trigger.trigger()
        self._phases.set(ExecutionPhase.SHUTDOWN_STARTED)
        running = {task: handle for handle, task in tasks.items() if not task.done()}
        cancelled: set[asyncio.Task[None]] = set()
        if kind.is_graceful:
            self._phases.set(ExecutionPhase.SHUTDOWN_GRACE_PERIOD)
            cancelled = await self._grace_period(running)
        self._phases.set(ExecutionPhase.SHUTDOWN_RUNTIMES)
        left = {task for task in running if not task.done()}
        for task in left - cancelled:
            task.cancel()
        graceful = kind.is_graceful and not self._fast_event.is_set()
        timeout = conf.graceful_shutdown_timeout_seconds if graceful else FAST_EXIT_SECONDS
        if left:
            _, stuck = await asyncio.wait(left, timeout=timeout)
            for task in stuck:
                log.warning(
                    "service %r did not stop in %ss; abandoned", running[task].name, timeout
                )
        self._phases.set(ExecutionPhase.TERMINATED)

    async def _grace_period(
        self, running: dict[asyncio.Task[None], ServiceHandle]
    ) -> set[asyncio.Task[None]]:
        """Wait for services to finish on their own; returns the tasks cancelled meanwhile.

        Services holding connections get `grace_period_seconds`; the others (background work)
        get `graceful_shutdown_timeout_seconds` and are then cancelled. A second shutdown
        request ends the wait at once.
        """
        conf = self.configuration
        loop = asyncio.get_running_loop()
        start = loop.time()
        grace_end = start + conf.grace_period_seconds
        deadline = {
            task: grace_end
            if handle.service.holds_connections
            else min(grace_end, start + conf.graceful_shutdown_timeout_seconds)
            for task, handle in running.items()
        }
        waiting = {task for task in running if not task.done()}
        cancelled: set[asyncio.Task[None]] = set()
        fast = asyncio.ensure_future(self._fast_event.wait())
        try:
            while waiting and not self._fast_event.is_set():
                now = loop.time()
                for task in [t for t in waiting if deadline[t] <= now]:
                    task.cancel()
                    cancelled.add(task)
                    waiting.discard(task)
                if not waiting or now >= grace_end:
                    break
                timeout = min(min(deadline[t] for t in waiting), grace_end) - now
                done, _ = await asyncio.wait(
                    [*waiting, fast], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                waiting -= done
        finally:
            fast.cancel()
        return cancelled

    def _describe_failure(self, exc: BaseException) -> str:
        if self._failure is not None and self._failure[1] is exc:
            return f"service {self._failure[0].name!r} failed to start: {str(exc).strip()}"
        return str(exc).strip()

    def __repr__(self) -> str:
        names = [h.name for h in self._handles]
        return f"Server(phase={self.phase.value}, services={names})"


def _load_for_cli(path: str) -> ServerConf:
    try:
        return ServerConf.load(path)
    except ConfigError as exc:
        _exit_with(str(exc))


def _exit_with(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(1)
