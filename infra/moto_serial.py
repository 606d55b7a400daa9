"""moto answering one request at a time, for the tests of concurrent
conditional writes (`make test` starts it beside the usual moto and exports
KITCHEN_TEST_MOTO_SERIAL).

DynamoDB applies a conditional write atomically. moto checks the condition and
writes in two steps on its request threads, so two writes that arrive together
can both pass the check, the way DynamoDB never lets them. Served one request
at a time, moto is atomic again, and a test of "two containers press at once,
one gets the slot" tests our code, not moto's threads.

    .venv/bin/python infra/moto_serial.py PORT
"""

import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    run_simple("127.0.0.1", port, DomainDispatcherApplication(create_backend_app), threaded=False)


if __name__ == "__main__":
    main()
