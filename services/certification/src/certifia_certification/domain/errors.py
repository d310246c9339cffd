"""What the certification refuses or does not know, each said once (the error map answers them:
``entrypoints/errors.py``). A revoked credential that cannot be suspended is ``suspension.AlreadyRevoked``."""

from __future__ import annotations


class UnknownCandidate(LookupError):
    """No event about this candidate reached the certification."""

    def __init__(self, candidate_id: str) -> None:
        super().__init__(candidate_id)
        self.candidate_id = candidate_id


class NoDiplomaYet(LookupError):
    """The candidate is known but holds no diploma (yet)."""

    def __init__(self, candidate_id: str) -> None:
        super().__init__(candidate_id)
        self.candidate_id = candidate_id


class UnknownDiploma(LookupError):
    def __init__(self, diploma_id: str) -> None:
        super().__init__(diploma_id)
        self.diploma_id = diploma_id


class UnknownBlocCertificate(LookupError):
    def __init__(self, certificate_id: str) -> None:
        super().__init__(certificate_id)
        self.certificate_id = certificate_id


class UnknownAchievement(LookupError):
    """Not the achievement of the current referential (``referential-<version>``): the only one served."""

    def __init__(self, achievement_id: str, current: str) -> None:
        super().__init__(achievement_id)
        self.achievement_id = achievement_id
        self.current = current


class UnknownBloc(LookupError):
    """The referential has no such bloc."""

    def __init__(self, bloc: str, blocs: tuple[str, ...]) -> None:
        super().__init__(bloc)
        self.bloc = bloc
        self.blocs = blocs
