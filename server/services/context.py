"""What every use case needs: the config, the database and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from server.config import Config
from server.engine.errors import not_found
from server.engine.model import Counter, Hall, Kiosk, Service
from server.store.db import Database

from .board import Boards


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass
class Context:
    config: Config
    db: Database
    clock: Clock
    boards: Boards = field(default_factory=Boards)  # the shared forecast, one per hall (services.board)

    def hall(self, hall_id: str) -> Hall:
        hall = self.config.hall(hall_id)
        if hall is None:
            raise not_found("hall", hall_id)
        return hall

    def service(self, hall: Hall, service_id: str) -> Service:
        service = hall.service(service_id)
        if service is None:
            raise not_found("service", service_id)
        return service

    def counter(self, counter_id: str) -> tuple[Hall, Counter]:
        found = self.config.find_counter(counter_id)
        if found is None:
            raise not_found("counter", counter_id)
        return found

    def kiosk(self, hall: Hall, kiosk_id: str) -> Kiosk:
        kiosk = hall.kiosk(kiosk_id)
        if kiosk is None:
            raise not_found("kiosk", kiosk_id)
        return kiosk
