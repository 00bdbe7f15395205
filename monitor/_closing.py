"""What ``with`` does for the resources the commands open (store, HTTP client, services): leaving the block closes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class Closing(ABC):
    """A resource opened ready for use: ``with`` hands it back as it is and closes it on the way out."""

    @abstractmethod
    def close(self) -> None:
        """Free what the resource holds (connections, engines); it is not used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
