"""Check a Pulumi YAML program's use of the component package against its schema, offline (a test helper).

What `pulumi preview` would type-check for our resources: the token exists, every property is an input of the
component (camelCase), required inputs are present, nested objects match their types (unknown keys, required keys,
enum values, scalar kinds), `${config}` objects are checked through their defaults, and `${res.prop}` references to
our components name real outputs. Resources of other packages are ignored.
"""

import re
from typing import Any

REF = re.compile(r"\$\{([^}]+)\}")
SCALARS = {"string": str, "boolean": bool, "integer": int, "number": (int, float)}


def token(package: str, typ: str) -> str | None:
    parts = typ.split(":")
    if parts[0] != package:
        return None
    return f"{package}:index:{parts[-1]}" if len(parts) == 2 else typ  # YAML accepts `pkg:Type` for `pkg:index:Type`


def check_value(value: Any, spec: dict, schema: dict, path: str, env: dict, problems: list[str]) -> None:
    if isinstance(value, str) and (m := REF.fullmatch(value)):
        root = m.group(1).split(".")[0]
        if root in env:  # a config value: check its default against the property's type
            check_value(env[root], spec, schema, path, env, problems)
        return  # a resource output: its type is the output's; checked in check_outputs
    if "$ref" in spec:
        ref = spec["$ref"]
        if not ref.startswith("#/types/"):
            return
        type_spec = schema["types"][ref.removeprefix("#/types/")]
        if "enum" in type_spec:
            allowed = [e["value"] for e in type_spec["enum"]]
            if value not in allowed:
                problems.append(f"{path}: {value!r} is not one of {allowed}")
            return
        check_object(value, type_spec.get("properties", {}), type_spec.get("required", []), schema, path, env,
                     problems)  # fmt: skip
        return
    kind = spec.get("type")
    if kind == "array":
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {value!r}")
            return
        for i, item in enumerate(value):
            check_value(item, spec["items"], schema, f"{path}[{i}]", env, problems)
    elif kind == "object" and "additionalProperties" in spec:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map, got {value!r}")
            return
        for k, item in value.items():
            check_value(item, spec["additionalProperties"], schema, f"{path}.{k}", env, problems)
    elif kind in SCALARS:
        ok = isinstance(value, SCALARS[kind]) and not (kind != "boolean" and isinstance(value, bool))
        if not ok and not (kind == "string" and isinstance(value, str)):
            problems.append(f"{path}: expected {kind}, got {value!r}")


def check_object(value: Any, props: dict, required: list, schema: dict, path: str, env: dict, problems: list) -> None:
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object, got {value!r}")
        return
    for key in value:
        if key not in props:
            problems.append(f"{path}.{key}: not a property; expected one of {sorted(props)}")
    for key in required:
        if key not in value:
            problems.append(f"{path}.{key}: required")
    for key, item in value.items():
        if key in props:
            check_value(item, props[key], schema, f"{path}.{key}", env, problems)


def check_program(program: dict, schema: dict) -> list[str]:
    package = schema["name"]
    problems: list[str] = []
    env = {k: (v.get("default") if isinstance(v, dict) else v) for k, v in (program.get("config") or {}).items()}
    ours: dict[str, dict] = {}
    for name, res in (program.get("resources") or {}).items():
        tok = token(package, res["type"])
        if tok is None:
            continue
        spec = schema["resources"].get(tok)
        if spec is None:
            problems.append(
                f"resources.{name}.type: {res['type']} is not in the schema ({sorted(schema['resources'])})"
            )
            continue
        ours[name] = spec
        check_object(res.get("properties") or {}, spec["inputProperties"], spec.get("requiredInputs", []), schema,
                     f"resources.{name}.properties", env, problems)  # fmt: skip
    for section in ("outputs", "variables"):
        for key, expr in (program.get(section) or {}).items():
            for ref in REF.findall(str(expr)):
                res, _, prop = ref.partition(".")
                if res in ours and prop.split(".")[0].split("[")[0] not in ours[res]["properties"]:
                    problems.append(
                        f"{section}.{key}: {res} has no output {prop!r}; it has {sorted(ours[res]['properties'])}"
                    )
    if package not in (program.get("packages") or {}):
        problems.append(f"packages: no entry for {package}; run `pulumi package add <path to components>`")
    return problems
