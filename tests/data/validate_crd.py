"""Validates YAML documents against a CustomResourceDefinition's schema, strictly.

Usage: validate_crd.py CRD.yaml FILE.yaml [--values-path KEY.KEY...]

Every document in FILE must be a resource of the CRD's kind and group (with --values-path: the
mapping at that path of FILE, the only key at each level, is validated as the resource's spec).
The API server prunes unknown fields silently; here they are errors: every object schema that
lists properties and does not preserve unknown fields gets additionalProperties: false.
Exit status 0 when every document validates, 1 otherwise (each error printed).
Needs PyYAML and jsonschema (both dependencies of kubernetes-validate).
"""
import sys

import jsonschema
import yaml


def strict(schema):
    if isinstance(schema, dict):
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        for value in schema.values():
            strict(value)
    elif isinstance(schema, list):
        for value in schema:
            strict(value)
    return schema


def main(argv):
    crd_path, file_path = argv[1], argv[2]
    values_path = argv[4].split(".") if len(argv) > 4 and argv[3] == "--values-path" else None
    with open(crd_path) as handle:
        crd = yaml.safe_load(handle)
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    versions = {v["name"]: v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"]}
    with open(file_path) as handle:
        documents = [d for d in yaml.safe_load_all(handle) if d is not None]
    if not documents:
        print(f"{file_path}: no document")
        return 1
    errors = 0
    for document in documents:
        if values_path is not None:
            node = document
            for key in values_path:
                if not isinstance(node, dict) or list(node) != [key]:
                    print(f"{file_path}: expected only the key {key!r} at this level, got {node!r}")
                    return 1
                node = node[key]
            schema = strict(versions["v1"])["properties"]["spec"]
            target = node
        else:
            api_version = document.get("apiVersion", "")
            if document.get("kind") != kind or not api_version.startswith(group + "/"):
                print(f"{file_path}: not a {kind} of {group}: {api_version} {document.get('kind')}")
                return 1
            schema = strict(versions[api_version.split("/", 1)[1]])
            target = document
        validator = jsonschema.Draft7Validator(schema)
        for error in validator.iter_errors(target):
            errors += 1
            where = "/".join(str(p) for p in error.absolute_path)
            print(f"{file_path}: {where}: {error.message}")
    if errors == 0:
        print(f"{file_path}: {len(documents)} document(s) valid against {kind}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
