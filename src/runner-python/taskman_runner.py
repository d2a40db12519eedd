"""Taskman's Python runner: the child process that runs one task of a Python application.

It mirrors the Node runner (src/core/runner) message for message. The scheduler starts it as
`python [flags] dist/runner.py` in the application's root with Node's IPC channel on the fd in
NODE_CHANNEL_FD: one JSON object per line each way (src/core/protocol.ts has the messages).
Standard library only; Python 3.9 and later. One file, so that nothing of the runner's own sits
on sys.path beside the application's modules.
"""

import asyncio
import datetime
import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import numbers
import os
import queue
import re
import sys
import threading
import traceback

PROGRESS_INTERVAL_S = 0.05
PROGRESS_MESSAGE_MAX_CHARS = 1024
# TASK_NAME of src/core/task.ts in Python's terms: no "$", and never a leading "_".
TASK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
PARENT_TYPES = ("start", "abort", "submit-result", "list-tasks")
EXIT_PARENT_GONE = 70
OWN_FILE = (lambda: None).__code__.co_filename
RETURN_JSON = "Return dicts, lists, strings, numbers, booleans or None."
STORE_ELSEWHERE = "Store large output elsewhere and return a reference."
# The lifecycle of src/core/runner/runnerState.ts: a state and those it may go to.
NEXT_STATES = {"idle": ("running", "listing", "exiting"), "running": ("finishing",), "listing": ("finishing",),
               "finishing": ("idle", "exiting"), "exiting": ()}


class TaskAborted(BaseException):
    """Raised by ctx.check_abort() once the scheduler asked the task to stop. A BaseException, as
    asyncio's CancelledError is, so that a task's own `except Exception:` does not swallow it."""


class SubmitError(Exception):
    """ctx.submit: the scheduler did not submit the child. `name` is the name of its error."""

    def __init__(self, message, name="Error"):
        super().__init__(message)
        self.name = name


def failure(name, message):
    return {"name": name, "message": message}


def failed(error):
    return {"type": "failed", "error": error}


def guarded(fn, *args):
    """Runs code of the application: (its value, None) or (None, what it raised). KeyboardInterrupt
    is not caught, and sys.exit() ends the runner as Python would."""
    try:
        return fn(*args), None
    except SystemExit as exit_:
        exit_like_python(exit_)
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        return None, error


def flush_stdio():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # Closed or replaced by the task: nothing to flush.
            pass


# The runner's own copies of stdout and stderr (not inherited by a task's children), which the
# output fence goes to: a task may replace sys.stdout, or close fd 1 and let a file take its number.
FENCE_FDS = []


def keep_fence_fds():
    for fd in (1, 2):
        try:
            FENCE_FDS.append(os.dup(fd))
        except OSError:  # Not open: the scheduler gave no pipe, so it waits for no fence there.
            pass


def write_fence(fence):
    """A pooled task's output fence (protocol.ts, `start`), after its flushed output on each stream."""
    data = fence.encode()
    for fd in FENCE_FDS:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except OSError:  # The parent closed its end: it waits for no fence there.
            pass


def exit_like_python(exit_):
    """sys.exit() in task code ends the runner at once with its code and no final message, as
    process.exit() does in Node; the scheduler then reports RunnerExited."""
    code = exit_.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    flush_stdio()
    os._exit(code & 0xFF)


def traceback_text(error):
    """The traceback as Python prints it, less this file's frames (they say nothing about the
    task) and the asyncio.run() frames an async task starts under."""
    shown = traceback.TracebackException.from_exception(error)
    todo, seen = [shown], set()
    asyncio_dir = os.path.dirname(asyncio.__file__) + os.sep
    while todo:
        part = todo.pop()
        if part is None or id(part) in seen:
            continue
        seen.add(id(part))
        frames = [frame for frame in part.stack if frame.filename != OWN_FILE and not is_import_machinery(frame)]
        while frames and frames[0].filename.startswith(asyncio_dir):
            del frames[0]
        part.stack = traceback.StackSummary.from_list(frames)
        todo += [part.__cause__, part.__context__] + list(getattr(part, "exceptions", None) or [])
    return "".join(shown.format())


def is_import_machinery(frame):
    """importlib's own frames, between the runner and a tasks module that failed to load."""
    return frame.filename.startswith("<frozen importlib") or frame.filename == importlib.__file__


def serialise_thrown(error):
    """What a task raised as a TaskError: its type's name, str(), traceback and `code`, if any."""
    try:
        message = str(error)
    except Exception:
        message = "<str() of the exception failed>"
    result = {"name": type(error).__name__, "message": message, "stack": traceback_text(error)}
    code = getattr(error, "code", None)
    if isinstance(code, (str, int, float)) and not isinstance(code, bool):
        result["code"] = str(code)
    return result


def json_default(value):
    """Dates and durations in ctx.submit options, as the scheduler reads them (ISO time, ms)."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds() * 1000
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class Channel:
    """Node's IPC channel in its json mode: a line of JSON per message, both ways."""

    def __init__(self, fd):
        self.fd = fd
        self.lock = threading.Lock()

    def send(self, message):
        data = memoryview((json.dumps(message, allow_nan=False) + "\n").encode("utf-8"))
        with self.lock:
            try:
                while data:
                    data = data[os.write(self.fd, data):]
            except OSError:
                pass  # The parent is gone: the reader sees the end of the channel and exits.

    def read_forever(self, on_message):
        """The parent's messages, in order; at the end of the channel the parent is gone (crashed
        or killed) and nobody can record an outcome, so the runner stops at once."""
        parts = []
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                os._exit(EXIT_PARENT_GONE)
            *lines, rest = chunk.split(b"\n")
            for line in lines:
                parts.append(line)
                text, parts = b"".join(parts), []
                try:
                    message = json.loads(text)
                except ValueError:
                    continue
                if isinstance(message, dict) and message.get("type") in PARENT_TYPES:
                    on_message(message)
            if rest:
                parts.append(rest)


class ProgressThrottle:
    """Sends a task's progress at most once per interval, always the latest value: a task may
    report in a tight loop, and each message is an IPC write and a database update."""

    def __init__(self, send, interval_s):
        self._send = send
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._pending = None
        self._timer = None

    def queue(self, progress):
        with self._lock:
            self._pending = progress
            if self._timer is None:
                self._timer = threading.Timer(self._interval_s, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self):
        """Sends the value still waiting, now. Sent under the lock, so that the final message,
        which comes after a flush, can never overtake it."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            latest, self._pending = self._pending, None
            if latest is not None:
                self._send(dict(type="progress", **latest))


class TaskInHand:
    """The task a runner has, from its `start` until its final message is sent: whether it was
    asked to stop, and its ctx.submit calls, each a `submit` answered by a `submit-result`. Their
    numbers restart with each task: the scheduler keys a child by its parent's attempt and number."""

    def __init__(self, task_id, send):
        self.task_id = task_id
        self.aborted = threading.Event()
        self.abort_reason = None
        self._send = send
        self._lock = threading.Lock()
        self._next_request = 1
        self._pending = {}

    def abort(self, reason):
        if not self.aborted.is_set():
            self.abort_reason = reason
            self.aborted.set()

    def submit(self, task, payload, options):
        if not isinstance(task, str) or not task:
            raise TypeError(f"ctx.submit(task, payload, **options): task must be a task name, got {task!r}.")
        try:
            payload_json = json.dumps(payload, allow_nan=False, default=json_default)
        except (TypeError, ValueError) as error:
            raise TypeError(f"ctx.submit: the payload is not JSON: {error}") from None
        try:
            options = json.loads(json.dumps(options, allow_nan=False, default=json_default))
        except (TypeError, ValueError) as error:
            raise TypeError(f"ctx.submit: the options are not JSON: {error}") from None
        answer = {"event": threading.Event()}
        with self._lock:
            request_id, self._next_request = self._next_request, self._next_request + 1
            self._pending[request_id] = answer
        self._send({"type": "submit", "requestId": request_id, "task": task, "payloadJson": payload_json,
                    "options": options})
        answer["event"].wait()
        if answer["message"].get("id"):
            return str(answer["message"]["id"])
        error = answer["message"].get("error") or {}
        raise SubmitError(error.get("message") or "The child task was not submitted.", error.get("name") or "Error")

    def answered(self, message):
        with self._lock:
            waiting = self._pending.pop(message.get("requestId"), None)
        if waiting is not None:
            waiting["message"] = message
            waiting["event"].set()


class TaskContext:
    """The `ctx` a task function gets as its second argument."""

    __slots__ = ("_start", "_task", "_report_progress")
    TaskAborted = TaskAborted
    SubmitError = SubmitError

    def __init__(self, start, task, report_progress):
        self._start, self._task, self._report_progress = start, task, report_progress

    id = property(lambda self: str(self._start["taskId"]))
    attempt = property(lambda self: self._start["attempt"])
    aborted = property(lambda self: self._task.aborted.is_set())
    abort_reason = property(lambda self: self._task.abort_reason)

    def check_abort(self):
        if self._task.aborted.is_set():
            raise TaskAborted(self._task.abort_reason)

    def progress(self, percent, message=None):
        if percent is not None and (
            isinstance(percent, bool) or not isinstance(percent, numbers.Real) or not 0 <= percent <= 100
        ):
            raise TypeError(f"ctx.progress(percent) takes a number from 0 to 100 or None, got {percent!r}.")
        if message is not None and not isinstance(message, str):
            raise TypeError("ctx.progress(percent, message): message must be a str or None.")
        if percent is not None and not isinstance(percent, (int, float)):
            percent = float(percent)
        self._report_progress(
            {"percent": percent, "message": None if message is None else message[:PROGRESS_MESSAGE_MAX_CHARS]}
        )

    def log(self, *args):
        print(*args, flush=True)

    def submit(self, task, payload=None, **options):
        """Submits a task of this application whose parent is this task; returns its id."""
        return self._task.submit(task, payload, options)


def exported_tasks(module):
    """The module's tasks by name: the callables named in `__all__` (a function, a
    functools.partial, an object with __call__; not a class), or without one its public functions
    defined in it (not imported ones). Read from its namespace, so no lookup runs code."""
    namespace = vars(module)
    if "__all__" in namespace:
        listed = namespace["__all__"] if isinstance(namespace["__all__"], (list, tuple)) else ()
        candidates = [(name, namespace.get(name)) for name in listed if isinstance(name, str)]
        candidates = [(name, value) for name, value in candidates if callable(value) and not inspect.isclass(value)]
    else:
        candidates = [
            (name, value)
            for name, value in namespace.items()
            if inspect.isfunction(value) and value.__module__ == module.__name__
        ]
    return {name: value for name, value in candidates if TASK_NAME.fullmatch(name)}


def call_task(fn, payload, ctx, on_stray_error):
    """Calls the task; what an async one returns is run to its end by asyncio.run()."""
    value = fn(payload, ctx)
    if not inspect.isawaitable(value):
        return value

    async def until_done():
        def on_loop_error(loop, context):
            error = context.get("exception")
            if error is None:
                loop.default_exception_handler(context)
            else:
                on_stray_error(error)

        asyncio.get_running_loop().set_exception_handler(on_loop_error)
        return await value

    return asyncio.run(until_done())


class Runner:
    """The runner's lifecycle, as src/core/runner/runnerState.ts: one task at a time."""

    def __init__(self, channel):
        self.channel = channel
        self.lock = threading.RLock()
        self.state = "idle"
        self.task = None
        self.keep_alive = False
        self.output_fence = None
        self.inbox = queue.Queue()
        self.progress = ProgressThrottle(channel.send, PROGRESS_INTERVAL_S)
        self.modules = {}
        self.debugging = False

    def set_state(self, name, task=None):
        if name not in NEXT_STATES[self.state]:
            raise RuntimeError(f"The runner cannot go from {self.state} to {name}.")
        self.state, self.task = name, task

    def on_message(self, message):
        """In the reader thread; the work of a `start` or `list-tasks` is the main thread's."""
        kind = message["type"]
        with self.lock:
            if kind == "start" and self.state == "idle":
                task = TaskInHand(str(message.get("taskId")), self.channel.send)
                self.keep_alive = message.get("keepAlive") is True
                fence = message.get("outputFence")
                self.output_fence = fence if isinstance(fence, str) else None
                self.set_state("running", task)
                self.inbox.put((self.run_task, message, task))
            elif kind == "list-tasks" and self.state == "idle":
                self.set_state("listing")
                self.inbox.put((self.list_tasks, message))
            elif kind == "submit-result" and self.state == "running":
                if self.task.task_id == message.get("taskId"):
                    self.task.answered(message)
            elif kind == "abort" and self.state in ("running", "finishing") and self.task is not None:
                # An abort meant for an earlier task of a pooled runner must not reach the next one.
                if self.task.task_id == message.get("taskId"):
                    self.task.abort(str(message.get("reason")))

    def serve(self):
        while True:
            work, *args = self.inbox.get()
            work(*args)

    def finish(self, message, exit_code, may_stay):
        """Sends the one final message, then exits or (pooled, task ended by itself) goes back to
        idle. A second caller (a stray error while finishing) is ignored."""
        with self.lock:
            if self.state not in ("running", "listing"):
                return
            stays = may_stay and self.state == "running" and self.keep_alive
            fence = self.output_fence if self.state == "running" else None
            self.set_state("finishing", self.task)
        self.progress.flush()
        flush_stdio()
        if fence is not None:
            write_fence(fence)
        if stays:
            # Sent under the lock: the parent's next `start` may arrive before idle is set, and the
            # reader must not see this runner busy then.
            with self.lock:
                self.channel.send(message)
                if self.state == "finishing":
                    self.set_state("idle")
            return
        self.channel.send(message)
        self.exit(exit_code)

    def exit(self, code):
        with self.lock:
            if self.state != "exiting":
                self.set_state("exiting")
        flush_stdio()
        # Never in the middle of a line to the parent.
        self.channel.lock.acquire(timeout=1)
        os._exit(code)

    def on_stray_error(self, error):
        """An error no task code caught (another thread, an asyncio callback): the task fails
        with it, and the runner exits either way, as whatever raised may have broken it."""
        with self.lock:
            if self.state == "exiting":
                return
            if self.state in ("running", "listing"):
                self.finish({"type": "failed", "error": serialise_thrown(error)}, 1, False)
            sys.stderr.write(f"taskman runner: {traceback_text(error)}\n")
            self.exit(1)

    def load(self, tasks_module):
        """A file path is run as a script is (its folder first on sys.path); a dotted name is
        imported. Loaded once: a pooled runner keeps it for the next task."""
        if tasks_module in self.modules:
            return self.modules[tasks_module]
        if os.sep in tasks_module or (os.altsep and os.altsep in tasks_module) or tasks_module.endswith(".py"):
            path = os.path.abspath(tasks_module)
            sys.path.insert(0, os.path.dirname(path))
            stem = os.path.splitext(os.path.basename(path))[0]
            name = stem if stem.isidentifier() and stem not in sys.modules else "taskman_tasks"
            loader = importlib.machinery.SourceFileLoader(name, path)
            module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(name, path, loader=loader))
            sys.modules[name] = module
            loader.exec_module(module)
        else:
            module = importlib.import_module(tasks_module)
        self.modules[tasks_module] = module
        return module

    def start_debugger(self):
        """TASKMAN_DEBUGPY=1: debugpy listens, the scheduler reads the port from stderr and the
        IDE attaches; task code runs only after the IDE has set its breakpoints."""
        if self.debugging:
            return None
        try:
            import debugpy
        except ImportError:
            return failure(
                "DebugpyMissing",
                f"Debugging a Python task needs debugpy for {sys.executable}: install it (Debian and Ubuntu: "
                f"apt install python3-debugpy; otherwise: {sys.executable} -m pip install debugpy)",
            )
        # A process the task starts is not debugged: attaching to one takes an editor that answers
        # debugpy's debugpyAttach event, and without one the child would wait for it.
        debugpy.configure(subProcess=False)
        _, port = debugpy.listen(("127.0.0.1", 0))
        sys.stderr.write(f"Debugger listening on debugpy://127.0.0.1:{port}\n")
        sys.stderr.flush()
        debugpy.wait_for_client()
        self.debugging = True
        return None

    def run_task(self, start, task):
        if start.get("keepAlive") is not True:
            # A process of the task's own says which, before any of its code loads.
            os.environ["TASKMAN_TASK_ID"] = task.task_id
        message, may_stay = self.outcome(start, task)
        self.finish(message, 0 if message["type"] == "succeeded" else 1, may_stay)

    def outcome(self, start, task):
        """Every way a task ends: its final message, and whether a pooled runner may stay."""
        tasks_module = start.get("tasksModule")
        if os.environ.get("TASKMAN_DEBUGPY") == "1":
            error, raised = guarded(self.start_debugger)
            if error is not None or raised is not None:
                return failed(error or serialise_thrown(raised)), False
        module, raised = guarded(self.load, tasks_module)
        if raised is not None:
            # Whatever the failed import ran stays in this process: a pooled runner does not stay.
            thrown = serialise_thrown(raised)
            message = f"Loading the tasks module {tasks_module} failed: {thrown['name']}: {thrown['message']}"
            return failed(dict(thrown, name="TasksModuleLoadError", message=message)), False
        tasks = exported_tasks(module)
        name = start.get("task")
        fn = tasks.get(name) if isinstance(name, str) and TASK_NAME.fullmatch(name) else None
        if fn is None:
            exported = ", ".join(sorted(tasks)) or "(none)"
            message = f'"{name}" is not an exported function of {tasks_module}. Exported tasks: {exported}.'
            return failed(failure("TaskNotExported", message)), True
        try:
            payload = json.loads(start.get("payloadJson"))
        except (TypeError, ValueError) as error:
            return failed(failure("InvalidPayload", f"The stored payload is not JSON: {error}")), True
        ctx = TaskContext(start, task, self.progress.queue)
        value, raised = guarded(call_task, fn, payload, ctx, self.on_stray_error)
        if raised is not None:
            return failed(serialise_thrown(raised)), True
        try:
            result_json = json.dumps(value, allow_nan=False, ensure_ascii=False)
        except Exception as error:
            message = f"The task returned a value that is not JSON: {error}. {RETURN_JSON}"
            return failed(failure("ResultNotSerializable", message)), True
        size, limit = len(result_json.encode("utf-8", "surrogatepass")), start.get("resultLimitBytes")
        if size > limit:
            message = f"The result is {size} bytes of JSON; the limit is {limit}. {STORE_ELSEWHERE}"
            return failed(failure("ResultTooLarge", message)), True
        return {"type": "succeeded", "resultJson": result_json}, True

    def list_tasks(self, message):
        module, raised = guarded(self.load, message.get("tasksModule"))
        if raised is not None:
            self.finish({"type": "task-list-failed", "error": serialise_thrown(raised)}, 1, False)
        else:
            self.finish({"type": "task-list", "tasks": sorted(exported_tasks(module))}, 0, False)


def main():
    if sys.version_info < (3, 9):
        sys.stderr.write(f"taskman runner: Python 3.9 or later is needed; {sys.executable} is {sys.version.split()[0]}.\n")
        sys.exit(2)
    fd = os.environ.pop("NODE_CHANNEL_FD", None)
    mode = os.environ.pop("NODE_CHANNEL_SERIALIZATION_MODE", "json")
    if fd is None or mode != "json":
        sys.stderr.write("taskman runner: started without a Taskman scheduler (no JSON IPC channel).\n")
        sys.exit(2)
    fd = int(fd)
    keep_fence_fds()
    os.set_inheritable(fd, False)
    os.set_blocking(fd, True)
    # Imports resolve as under `python -m`: the application root, not this runner's folder.
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = os.getcwd()
    channel = Channel(fd)
    runner = Runner(channel)
    threading.excepthook = lambda args: None if args.exc_type is SystemExit else runner.on_stray_error(args.exc_value)
    threading.Thread(target=channel.read_forever, args=(runner.on_message,), name="taskman-ipc", daemon=True).start()
    channel.send({"type": "ready", "pid": os.getpid()})
    runner.serve()


if __name__ == "__main__":
    main()
