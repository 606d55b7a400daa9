"""A small W3C WebDriver client for Debian's chromium + chromium-driver,
standard library only (no Selenium, no Playwright, nothing downloaded).

It speaks plain WebDriver over HTTP to chromedriver, plus chromedriver's own
two extras the page tests need: the browser console and network logs
(`goog:loggingPrefs`, read with POST /se/log) and Chrome DevTools commands
(POST /goog/cdp/execute) to emulate a phone's screen.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
# The W3C id of a found element in a response.
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
ENTER = "\ue007"
ESCAPE = "\ue00c"
TAB = "\ue004"


class WebDriverError(Exception):
    pass


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One headless Chromium with a fresh profile; `close()` ends it and chromedriver."""

    def __init__(self, log_path=None):
        for tool in (CHROMIUM, CHROMEDRIVER):
            if not os.access(tool, os.X_OK):
                raise WebDriverError(f"{tool} is missing: install Debian's chromium and chromium-driver "
                                     "(apt-get install chromium chromium-driver)")
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="kitchen-chromium-")
        log = open(log_path or os.devnull, "w")
        self.driver = subprocess.Popen([CHROMEDRIVER, f"--port={self.port}"], stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.time() > deadline or self.driver.poll() is not None:
                    raise WebDriverError("chromedriver did not start")
                time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
                f"--user-data-dir={self.profile}", "--window-size=1280,900"]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}}
        self.session = self._send("POST", "/session", caps)["sessionId"]

    def _send(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            try:
                value = json.loads(e.read()).get("value", {})
            except ValueError:
                value = {}
            raise WebDriverError(f"{method} {path}: {value.get('error')}: {value.get('message', '')[:300]}") from None

    def _s(self, method, path, body=None):
        return self._send(method, f"/session/{self.session}{path}", body)

    # Navigation and scripts.
    def get(self, url):
        self._s("POST", "/url", {"url": url})

    def url(self):
        return self._s("GET", "/url")

    def run(self, script, *args):
        """Runs `script` (a function body; `arguments` holds args) in the page."""
        return self._s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def cdp(self, cmd, params=None):
        return self._s("POST", "/goog/cdp/execute", {"cmd": cmd, "params": params or {}})

    # Elements.
    def find_all(self, css):
        return [e[ELEMENT] for e in self._s("POST", "/elements", {"using": "css selector", "value": css})]

    def click(self, element):
        self._s("POST", f"/element/{element}/click", {})

    def type(self, element, text):
        self._s("POST", f"/element/{element}/value", {"text": text})

    def text(self, element):
        return self._s("GET", f"/element/{element}/text")

    def attribute(self, element, name):
        return self._s("GET", f"/element/{element}/attribute/{name}")

    def displayed(self, element):
        return self._s("GET", f"/element/{element}/displayed")

    def ref(self, element):
        """An element as a script argument."""
        return {ELEMENT: element}

    def keys(self, *values):
        """Presses and releases each key in turn, on whatever has the focus."""
        actions = []
        for v in values:
            actions += [{"type": "keyDown", "value": v}, {"type": "keyUp", "value": v}]
        self._s("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})

    def wait(self, what, check, timeout=10.0, every=0.1):
        """Polls `check()` until it returns something truthy; fails naming `what`."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = check()
            except WebDriverError as e:
                last = e
            if last and not isinstance(last, Exception):
                return last
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")

    # Screens and logs.
    def screen(self, width, height, mobile=False):
        self.cdp("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    def screenshot(self, path):
        png = base64.b64decode(self._s("GET", "/screenshot"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png)
        return len(png)

    def logs(self, kind):
        """Entries of `browser` (console) or `performance` (DevTools events) since the last call."""
        return self._s("POST", "/se/log", {"type": kind})

    def requested_urls(self):
        """Every URL the page asked the network for since the last call."""
        urls = []
        for entry in self.logs("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                urls.append(msg["params"]["request"]["url"])
        return urls

    def close(self):
        try:
            self._send("DELETE", f"/session/{self.session}", timeout=10)
        except (WebDriverError, OSError):
            pass
        if self.driver.poll() is None:
            self.driver.terminate()
            try:
                self.driver.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
