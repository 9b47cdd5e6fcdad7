"""DomainBed's command launchers: functions over lists of shell command strings."""

import subprocess


def local_launcher(commands):
    for cmd in commands:
        subprocess.call(cmd, shell=True)


def dummy_launcher(commands):
    for cmd in commands:
        print(f"Dummy launcher: {cmd}")


REGISTRY = {"local": local_launcher, "dummy": dummy_launcher}
