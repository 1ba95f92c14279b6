"""A real SMTP server for the tests: stores every message it accepts as a file in a folder.

Usage: smtp_sink.py PORT DIR. Recipients at the domain `rejected.test` are refused with
550 (mailbox unavailable), as a real server refuses an address it does not know. While a file
`.paused` exists in DIR, every message waits before it is accepted (a slow mail server).
"""
import asyncio
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith("@rejected.test"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        while os.path.exists(os.path.join(self.folder, ".paused")):
            await asyncio.sleep(0.02)
        self.count += 1
        name = f"{self.count:06d}.eml"
        tmp = os.path.join(self.folder, "." + name)
        with open(tmp, "wb") as f:
            f.write(b"X-Rcpt-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.folder, name))
        return "250 Message accepted"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        # Until the test kills us, or our stdin (the test's pipe) closes.
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
