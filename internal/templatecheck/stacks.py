#!/usr/bin/env python3
"""Renders template.yaml as CloudFormation will see it, once per stack of stacks.json.

For every stack (a parameter combination) it writes two files into --out:

  <stack>.sam.json  the SAM template with the stack's values as parameter defaults and every condition
                    decided (resources and outputs whose condition is false removed, Fn::If resolved):
                    what `make lint` gives cfn-lint, which runs the SAM translator itself.
  <stack>.json      that template translated by aws-sam-translator (Globals merged, AutoPublishAlias,
                    policies and events expanded), with parameter references replaced by the stack's
                    values: what the Go template checks read.

It also evaluates the template's Rules section against each stack's values, as CloudFormation does
before it creates a change set, and loads each stack's functions the way `sam build` does (the SAM
CLI's template parser: the translator's validator and plugins, Globals merged, then its function
provider's checks), and exits 1 naming every failed assertion and every function `sam build` refuses.

Only the tools installed on the project's machines are used: cfn-lint's template decoder and managed
policy list, and aws-sam-translator.
"""

import argparse
import copy
import itertools
import json
import logging
import os
import sys
import tomllib
import warnings

try:
    from cfnlint.data import Serverless
    from cfnlint.decode import decode
    from cfnlint.helpers import load_resource
    from samtranslator.model import ResourceTypeResolver, sam_resources
    from samtranslator.parser.parser import Parser
    from samtranslator.plugins import LifeCycleEvents
    from samtranslator.translator.translator import Translator, prepare_plugins
    from samtranslator.validator.validator import SamTemplateValidator
except ImportError as exc:  # the message is what a user without the tools sees
    sys.exit(
        f"stacks.py: {exc}: cfn-lint 1.51 and aws-sam-translator 1.110 are needed "
        "(pip install cfn-lint==1.51.0 aws-sam-translator==1.110.0)"
    )

logging.getLogger("samtranslator").setLevel(logging.CRITICAL)

NO_VALUE = object()


class TemplateError(Exception):
    pass


def expand_stacks(spec):
    """Every regional combination of Role x CreateDatabase x TrafficMode x Jwt, then the listed ones (the edge stacks)."""
    reg = spec["regional"]
    stacks = []
    for role, db, traffic, jwt in itertools.product(
        reg["Role"], reg["CreateDatabase"], reg["TrafficMode"], reg["Jwt"]
    ):
        params = dict(reg["base"])
        role_values = dict(reg["Role"][role])
        region = role_values.pop("region")
        params.update(role_values)
        params.update(reg["CreateDatabase"][db])
        if role == "secondary" and db == "true":
            params.update(reg["secondaryWithDatabase"])
        params.update(reg["TrafficMode"][traffic])
        params.update(reg["Jwt"][jwt])
        params.update({"Role": role, "CreateDatabase": db, "TrafficMode": traffic})
        name = f"{role}-{'newdb' if db == 'true' else 'existingdb'}-{traffic}-jwt{jwt}"
        stacks.append({"name": name, "region": region, "parameters": params})
    stacks.extend(spec.get("more", []))
    return stacks


class Stack:
    """One parameter combination applied to one template."""

    def __init__(self, template, values, region):
        self.template = template
        self.region = region
        self.params = {}
        for name, decl in template.get("Parameters", {}).items():
            raw = values.get(name, decl.get("Default"))
            if raw is None:
                raise TemplateError(f"parameter {name} has no value and no default")
            raw = str(raw)
            if decl.get("Type") == "CommaDelimitedList":
                self.params[name] = [v.strip() for v in raw.split(",")]
            else:
                self.params[name] = raw
            allowed = decl.get("AllowedValues")
            if allowed is not None and raw not in [str(a) for a in allowed]:
                raise TemplateError(f"parameter {name}={raw!r} is not one of {allowed}")
        unknown = set(values) - set(self.params)
        if unknown:
            raise TemplateError(f"unknown parameters {sorted(unknown)}")
        self.pseudo = {
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::AccountId": "123456789012",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "switchyard",
        }
        self._conditions = {}

    def value(self, expr):
        if isinstance(expr, dict) and len(expr) == 1:
            (key, arg), = expr.items()
            if key == "Ref":
                if arg in self.params:
                    return self.params[arg]
                if arg in self.pseudo:
                    return self.pseudo[arg]
                raise TemplateError(f"a condition or rule refers to {arg}, which is not a parameter")
            if key == "Fn::Join":
                return arg[0].join(str(v) for v in self.value(arg[1]))
            return self.truth(expr)
        return expr

    def truth(self, expr):
        if isinstance(expr, dict) and len(expr) == 1:
            (key, arg), = expr.items()
            if key == "Fn::Equals":
                return str(self.value(arg[0])) == str(self.value(arg[1]))
            if key == "Fn::Not":
                return not self.truth(arg[0])
            if key == "Fn::And":
                return all(self.truth(a) for a in arg)
            if key == "Fn::Or":
                return any(self.truth(a) for a in arg)
            if key == "Fn::Contains":
                return str(self.value(arg[1])) in [str(v) for v in self.value(arg[0])]
            if key == "Condition":
                return self.condition(arg)
        raise TemplateError(f"cannot evaluate {json.dumps(expr)} as a condition")

    def condition(self, name):
        if name not in self._conditions:
            conds = self.template.get("Conditions", {})
            if name not in conds:
                raise TemplateError(f"condition {name} is not defined")
            self._conditions[name] = self.truth(conds[name])
        return self._conditions[name]

    def failed_rules(self):
        failed = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.truth(rule["RuleCondition"]):
                continue
            for a in rule.get("Assertions", []):
                if not self.truth(a["Assert"]):
                    failed.append(f"rule {name}: {a.get('AssertDescription', json.dumps(a['Assert']))}")
        return failed

    def resolve(self, node):
        """The node with Fn::If decided and AWS::NoValue dropped."""
        if isinstance(node, dict):
            if len(node) == 1 and "Fn::If" in node:
                cond, yes, no = node["Fn::If"]
                return self.resolve(yes if self.condition(cond) else no)
            if node == {"Ref": "AWS::NoValue"}:
                return NO_VALUE
            out = {}
            for k, v in node.items():
                r = self.resolve(v)
                if r is not NO_VALUE:
                    out[k] = r
            return out
        if isinstance(node, list):
            return [r for r in (self.resolve(v) for v in node) if r is not NO_VALUE]
        return node

    def decided(self):
        """The SAM template of this stack: defaults pinned, conditions decided."""
        t = copy.deepcopy(self.template)
        for name, decl in t.get("Parameters", {}).items():
            v = self.params[name]
            decl["Default"] = ",".join(v) if isinstance(v, list) else v
        for section in ("Resources", "Outputs"):
            kept = {}
            for lid, res in t.get(section, {}).items():
                cond = res.pop("Condition", None)
                if cond is None or self.condition(cond):
                    kept[lid] = self.resolve(res)
            t[section] = kept
        t.pop("Conditions", None)
        return t

    def substitute(self, node):
        if isinstance(node, dict):
            if len(node) == 1 and "Ref" in node and node["Ref"] in self.params:
                return self.params[node["Ref"]]
            return {k: self.substitute(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.substitute(v) for v in node]
        return node


# Runtimes `sam build` has a builder for; provided.* is built by BuildMethod makefile here.
SAM_BUILD_RUNTIMES = ("provided.al2023", "nodejs18.x", "nodejs20.x", "nodejs22.x")


def sam_build_load(sam, root):
    """What `sam build` refuses while loading the template's functions.

    It follows the SAM CLI (samcli/lib/samlib/wrapper.py and lib/providers): validate the template
    with the translator's SamTemplateValidator, run the translator's plugins (which merge Globals into
    every function), let each SAM resource parse itself, then check what the function provider and the
    builder check: exactly one architecture, a code folder that exists, and for BuildMethod makefile a
    Makefile at ContextPath (or in the code folder).
    """
    t = copy.deepcopy(sam)
    problems = []
    try:
        with warnings.catch_warnings():  # deprecated, and still what the SAM CLI calls
            warnings.simplefilter("ignore", DeprecationWarning)
            SamTemplateValidator.validate(t)
        plugins = prepare_plugins([], parameters={})
        plugins.act(LifeCycleEvents.before_transform_template, t)
        resolver = ResourceTypeResolver(sam_resources)
        for lid, res in t["Resources"].items():
            if resolver.can_resolve(res):
                resolver.resolve_resource_type(res).from_dict(lid, res, sam_plugins=plugins)
    except Exception as exc:  # the SAM CLI stops here with the translator's message
        return [f"sam build: {type(exc).__name__}: {exc}"]
    for lid, res in t["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props, meta = res.get("Properties", {}), res.get("Metadata", {}) or {}
        arch = props.get("Architectures")
        if arch is not None and (not isinstance(arch, list) or len(arch) != 1):
            problems.append(f"sam build: Function {lid} property Architectures should be a list of length 1")
        if props.get("Runtime") not in SAM_BUILD_RUNTIMES:
            problems.append(f"sam build: Function {lid}: no builder for runtime {props.get('Runtime')!r}")
        code = props.get("CodeUri")
        if not isinstance(code, str) or not os.path.isdir(os.path.join(root, code)):
            problems.append(f"sam build: Function {lid}: CodeUri {code!r} is not a folder of the project")
        if meta.get("BuildMethod") == "makefile":
            context = os.path.join(root, meta.get("ContextPath", code if isinstance(code, str) else ""))
            if not os.path.isfile(os.path.join(context, "Makefile")):
                problems.append(f"sam build: Function {lid}: no Makefile in {context}")
        elif str(props.get("Runtime", "")).startswith("provided"):
            problems.append(f"sam build: Function {lid}: a provided runtime needs BuildMethod makefile here")
    return problems


def translate(sam, root, region):
    """The CloudFormation template aws-sam-translator makes of sam (a decided template)."""
    t = copy.deepcopy(sam)
    for lid, res in t.get("Resources", {}).items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            # `sam package` uploads the folder; the translator only accepts its S3 location.
            res.setdefault("Metadata", {})["SwitchyardCodeUri"] = props["CodeUri"]
            props["CodeUri"] = f"s3://switchyard-artifacts/{lid}.zip"
        if res.get("Type") == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            res.setdefault("Metadata", {})["SwitchyardDefinitionUri"] = props["DefinitionUri"]
            with open(os.path.join(root, props.pop("DefinitionUri")), encoding="utf-8") as f:
                props["Definition"] = json.load(f)
    os.environ["AWS_DEFAULT_REGION"] = region
    policies = load_resource(Serverless, "ManagedPolicies.json")
    out = Translator(managed_policy_map=policies, sam_parser=Parser()).translate(sam_template=t, parameter_values={})
    return json.loads(json.dumps(out, default=str))


def samconfig_stacks(path):
    """The deploy environments of samconfig.toml, as stacks: what `sam deploy --config-env` sends."""
    with open(path, "rb") as f:
        conf = tomllib.load(f)
    stacks = []
    for env, sections in sorted(conf.items()):
        deploy = sections.get("deploy", {}).get("parameters") if isinstance(sections, dict) else None
        if not deploy:
            continue
        overrides = deploy.get("parameter_overrides", [])
        if isinstance(overrides, str):
            overrides = overrides.split()
        params = dict(o.split("=", 1) for o in overrides)
        stacks.append({"name": f"samconfig-{env}", "region": deploy["region"], "parameters": params})
    return stacks


def with_secrets(stacks, template):
    """NoEcho parameters never sit in samconfig.toml: the deployer passes them on the command line
    (`sam deploy --config-env primary --parameter-overrides CursorKey=...`). Each gets a stand-in
    value of the length such a secret has, so the Rules see what CloudFormation will."""
    secret = "x" * 44  # the length of `openssl rand -base64 32`
    for s in stacks:
        for name, p in template.get("Parameters", {}).items():
            if p.get("NoEcho") and name not in s["parameters"]:
                s["parameters"][name] = secret
    return stacks


def load_template(path):
    template, matches = decode(path)
    if matches:
        raise TemplateError("; ".join(str(m) for m in matches))
    return json.loads(json.dumps(template))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--template", default="template.yaml")
    ap.add_argument("--stacks", default=os.path.join(os.path.dirname(__file__), "stacks.json"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--samconfig", help="also render the deploy environments of this samconfig.toml")
    ap.add_argument("--no-translate", action="store_true", help="write only the decided SAM templates")
    args = ap.parse_args()

    root = os.path.dirname(os.path.abspath(args.template))
    with open(args.stacks, encoding="utf-8") as f:
        stacks = expand_stacks(json.load(f))
    template = load_template(args.template)
    if args.samconfig:
        stacks += with_secrets(samconfig_stacks(args.samconfig), template)
    os.makedirs(args.out, exist_ok=True)
    problems = []
    for s in stacks:
        try:
            stack = Stack(template, s["parameters"], s["region"])
            problems += [f"{s['name']}: {p}" for p in stack.failed_rules()]
            sam = stack.decided()
            problems += [f"{s['name']}: {p}" for p in sam_build_load(sam, root)]
            with open(os.path.join(args.out, s["name"] + ".sam.json"), "w", encoding="utf-8") as f:
                json.dump(sam, f, indent=1, sort_keys=True)
            if not args.no_translate:
                cfn = stack.substitute(translate(sam, root, s["region"]))
                cfn["SwitchyardStack"] = {"name": s["name"], "region": s["region"]}
                with open(os.path.join(args.out, s["name"] + ".json"), "w", encoding="utf-8") as f:
                    json.dump(cfn, f, indent=1, sort_keys=True)
        except Exception as exc:  # one message per stack, named
            problems.append(f"{s['name']}: {type(exc).__name__}: {exc}")
    for p in problems:
        print(p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
