"""Unit of work: the one place a ledger transaction is committed.

Services take a ``UnitOfWork``, do their reads and writes through
``uow.session`` (and the repositories in ``clearing.adapters.db.repositories``,
which never commit) and call ``uow.commit()`` once. Leaving the ``with`` block
without a commit rolls everything back, so a batch is all or nothing.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from clearing.adapters.db.engine import READ_ONLY


class UnitOfWork:
    def __init__(self, session: Session, *, read_only: bool = False) -> None:
        self.session = session
        self.read_only = read_only
        self._depth = 0

    @classmethod
    def from_factory(cls, factory: sessionmaker[Session], *, read_only: bool = False) -> UnitOfWork:
        return cls(factory(), read_only=read_only)

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0 and not self.session.in_transaction():
            self.session.connection(execution_options={READ_ONLY: True} if self.read_only else {})
        self._depth += 1
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            # Anything not committed is discarded: all or nothing.
            self.session.rollback()

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("read-only unit of work cannot commit")
        self.session.commit()

    def flush(self) -> None:
        self.session.flush()

    def close(self) -> None:
        self.session.close()
