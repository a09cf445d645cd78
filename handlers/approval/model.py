"""The approval route as stored on the expense: steps, their approvers, decisions and reassignments.

It is computed once at submission and then only appended to, so later rule or org changes never
rewrite history; the finance API and `进度` show it as it is.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["any", "all"]
StepKind = Literal["leader", "parent_leader", "extra", "finance"]
StepStatus = Literal["waiting", "pending", "approved", "rejected", "skipped", "cancelled"]
Verdict = Literal["approve", "reject"]

MODE_LABEL = {"any": ("或签", "any one"), "all": ("会签", "all")}


class Decision(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user: str
    decision: Verdict
    comment: str = ""
    at: str
    via: Literal["card", "text"] = "card"


class Reassignment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    from_user: str
    to_users: list[str]
    reason: str
    at: str


class Step(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    kind: StepKind
    mode: Mode = "any"
    approvers: list[str] = Field(default_factory=list)
    status: StepStatus = "waiting"
    decisions: list[Decision] = Field(default_factory=list)
    reassigned: list[Reassignment] = Field(default_factory=list)
    note: str = ""
    started_at: str | None = None
    decided_at: str | None = None

    def approved_by(self) -> set[str]:
        return {d.user for d in self.decisions if d.decision == "approve"}

    def outstanding(self) -> list[str]:
        """Approvers whose word this step still needs."""
        if self.status != "pending":
            return []
        done = {d.user for d in self.decisions}
        if self.mode == "any" and self.decisions:
            return []
        return [a for a in self.approvers if a not in done]


class Route(BaseModel):
    steps: list[Step] = Field(default_factory=list)

    @classmethod
    def load(cls, raw: list[dict[str, Any]]) -> Route:
        return cls(steps=[Step.model_validate(s) for s in raw])

    def dump(self) -> list[dict[str, Any]]:
        return [s.model_dump(mode="json") for s in self.steps]

    def approved_before(self, index: int) -> set[str]:
        """Who already approved an earlier step (nobody is asked twice in one chain)."""
        done: set[str] = set()
        for step in self.steps[:index]:
            done |= step.approved_by()
        return done

    def everyone(self) -> set[str]:
        people: set[str] = set()
        for step in self.steps:
            people |= set(step.approvers)
            people |= {r.from_user for r in step.reassigned}
        return people
