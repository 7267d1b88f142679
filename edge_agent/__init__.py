"""edge-agent: the self-checkout edge daemon."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("edge-agent")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
