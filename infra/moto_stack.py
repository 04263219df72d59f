#!/usr/bin/env python3
"""Deploy template.yaml itself into a running moto server (shared/AWS-RUST.md §8).

    python infra/moto_stack.py --endpoint http://127.0.0.1:PORT --stack-name NAME \
        [--parameter HmacSecretArn=arn:...] [--parameter K=V ...] [--template PATH]

Loads the SAM template, points every local CodeUri at a placeholder zip it
uploads to moto, transforms SAM -> CloudFormation offline with
aws-sam-translator, creates the stack in moto and prints ONE JSON object on
stdout: outputs, logical -> physical resource ids, each function's
environment as Lambda returns it (every !Ref resolved to moto's physical
names, exactly what the binary gets on AWS), the event source mappings, the
queues with their attributes, the schedules, and the jobs table's stream ARN.
Diagnostics go to stderr; any failure exits non-zero with the reason.

What moto (5.x) does with this template, and what this script does about it:
- Created for real: the DynamoDB table (key schema, the four GSIs, the
  stream), the SQS queues (visibility timeout, retention, SSE flag,
  RedrivePolicy to the DLQs), the S3 bucket (with its encryption), the IAM
  roles with their inline policies (stored, not enforced; an `!If` that
  yields AWS::NoValue stays in moto's copy as a null statement), the Lambda
  functions (role, handler, runtime, timeout, memory, environment), the log
  groups, the Events rules (CodeCommit -> events queue, the schedules) and the
  Lambda permissions.
- Accepted but ignored by moto: the table's TimeToLiveSpecification and
  PointInTimeRecoverySpecification (this script applies both after creation,
  so DescribeTimeToLive shows `expires`), the bucket's LifecycleConfiguration
  and PublicAccessBlockConfiguration, and the functions' Architectures (moto
  reports x86_64) and LoggingConfig. These last ones are left as they are.
- AWS::Lambda::EventSourceMapping: moto can create them, but then it invokes
  the function itself on every SQS send and every table write (in Docker, or
  failing without it): it receives the messages (raising their receive count
  towards the DLQ) and drops the stream records the tests read. So the script
  takes the mappings out of the template before create_stack and reports
  them from the transformed template, with Ref/GetAtt resolved against the
  created stack (field names follow CreateEventSourceMapping, in snake_case).
- Schedule rules (AWS::Events::Rule with a ScheduleExpression, SAM's
  `Schedule` events): moto creates them but never fires them; it also takes
  a rule without an event pattern to match every event, and fails PutEvents
  with HTTP 500 when a matching rule has a Lambda target (it delivers to SQS,
  logs and buses only), which would break PutEvents for the whole moto. So after
  creation the script removes those rules' Lambda targets (the rules stay,
  with their schedules) and reports them under "schedules". The CodeCommit
  rule targets SQS and works: PutEvents with a CodeCommit event lands on the
  events queue.
- Not supported by moto's CloudFormation, so taken out too and listed under
  "skipped" in the JSON: AWS::Lambda::Url (hence no WebhookUrl output),
  AWS::SQS::QueuePolicy, AWS::CloudWatch::Alarm, AWS::CloudWatch::Dashboard
  and AWS::EKS::AccessEntry
  (conditional on EksClusterName anyway). Outputs that reference a removed
  resource are dropped.

Needs boto3 and PyYAML (moto[server] installs them) and aws-sam-translator
(`pip install aws-sam-translator`; cfn-lint no longer pulls it in).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import time
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CODE_BUCKET = "skiff-moto-code"
# Resource types moto's CloudFormation cannot create (see above).
UNSUPPORTED = {
    "AWS::Lambda::Url",
    "AWS::SQS::QueuePolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::EKS::AccessEntry",
}
ESM = "AWS::Lambda::EventSourceMapping"


def fail(msg: str) -> None:
    print(f"moto_stack: {msg}", file=sys.stderr)
    sys.exit(1)


# --- YAML with CloudFormation short tags -------------------------------------


class CfnLoader(yaml.SafeLoader):
    pass


def _short_tag(loader: CfnLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _short_tag)


def load_template(path: Path) -> dict:
    with path.open() as f:
        return yaml.load(f, Loader=CfnLoader)


# --- references in the transformed template ----------------------------------


def refs(node) -> set[str]:
    """Logical ids a template fragment points at (Ref, GetAtt, ${X} in Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "Ref" and isinstance(v, str):
                found.add(v)
            elif k == "Fn::GetAtt":
                found.add(v[0] if isinstance(v, list) else v.split(".", 1)[0])
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                found |= {m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
            found |= refs(v)
    elif isinstance(node, list):
        for v in node:
            found |= refs(v)
    return found


def resolve(node, attrs: dict[str, dict[str, str]]):
    """Ref / GetAtt against the created stack (enough for event source mappings)."""
    if isinstance(node, dict) and len(node) == 1:
        (k, v), = node.items()
        if k == "Ref":
            return attrs[v]["Ref"]
        if k == "Fn::GetAtt":
            name, attr = v if isinstance(v, list) else v.split(".", 1)
            return attrs[name][attr]
    if isinstance(node, dict):
        return {k: resolve(v, attrs) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, attrs) for v in node]
    return node


# --- the three steps ----------------------------------------------------------


def to_cloudformation(template: dict, params: dict[str, str], code_uri: str, transform) -> tuple[dict, dict, dict]:
    """SAM -> CloudFormation, minus what moto cannot (or must not) create.

    Returns the template, the removed event source mappings and the removed
    unsupported resources (logical id -> type)."""
    for res in template.get("Resources", {}).values():
        props = res.get("Properties") or {}
        uri = props.get("CodeUri", ".")
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(uri, str) and not uri.startswith("s3://"):
            props["CodeUri"] = code_uri

    class PolicyLoader:  # SAM policy names -> ARNs; this template uses none
        def load(self):
            return {n: f"arn:aws:iam::aws:policy/service-role/{n}" for n in
                    ("AWSLambdaBasicExecutionRole", "AWSLambdaSQSQueueExecutionRole", "AWSLambdaDynamoDBExecutionRole")}

    try:
        cf = transform(template, dict(params), PolicyLoader())
    except Exception as e:  # InvalidDocumentException lists its causes
        fail("SAM transform failed: " + "; ".join(getattr(c, "message", str(c)) for c in (getattr(e, "causes", None) or [e])))

    resources = cf["Resources"]
    skipped = {lid: r["Type"] for lid, r in resources.items() if r["Type"] in UNSUPPORTED}
    mappings = {lid: r for lid, r in resources.items() if r["Type"] == ESM}
    for lid in [*skipped, *mappings]:
        del resources[lid]
    for lid, r in resources.items():
        depends = r.get("DependsOn", [])
        depends = {depends} if isinstance(depends, str) else set(depends)
        dangling = (refs(r) | depends) & (set(skipped) | set(mappings))
        if dangling:
            fail(f"{lid} refers to {', '.join(sorted(dangling))}, which moto_stack.py leaves out; update the script")
    for name, out in list(cf.get("Outputs", {}).items()):
        if refs(out) & set(skipped):
            del cf["Outputs"][name]
    return cf, mappings, skipped


def create(cfn, name: str, cf: dict, params: dict[str, str], timeout: float) -> dict:
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(cf),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return stack
        if not status.endswith("IN_PROGRESS"):
            events = cfn.describe_stack_events(StackName=name)["StackEvents"]
            reasons = [f"{e['LogicalResourceId']}: {e['ResourceStatus']} {e.get('ResourceStatusReason') or ''}".strip()
                       for e in events if "FAILED" in e["ResourceStatus"]]
            fail(f"stack {name} is {status}: " + ("; ".join(reasons) or stack.get("StackStatusReason", "no reason given")))
        if time.monotonic() > deadline:
            fail(f"stack {name} still {status} after {timeout:.0f} s")
        time.sleep(0.2)


def describe(clients: dict, stack: dict, cf: dict, mappings: dict, params: dict[str, str]) -> dict:
    cfn, lam, sqs, ddb, events = (clients[s] for s in ("cloudformation", "lambda", "sqs", "dynamodb", "events"))
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in cfn.list_stack_resources(StackName=stack["StackName"])["StackResourceSummaries"]}
    attrs: dict[str, dict[str, str]] = {k: {"Ref": v} for k, v in {**params, **physical}.items()}
    functions, queues, schedules, stream_arn = {}, {}, {}, None
    for lid, pid in physical.items():
        kind, props = cf["Resources"][lid]["Type"], cf["Resources"][lid].get("Properties", {})
        if kind == "AWS::Lambda::Function":
            conf = lam.get_function_configuration(FunctionName=pid)
            attrs[lid]["Arn"] = conf["FunctionArn"]
            functions[lid] = {
                "name": conf["FunctionName"],
                "arn": conf["FunctionArn"],
                "role": conf.get("Role"),
                "runtime": conf.get("Runtime"),
                "handler": conf.get("Handler"),
                "timeout": conf.get("Timeout"),
                "memory_size": conf.get("MemorySize"),
                "environment": conf.get("Environment", {}).get("Variables", {}),
            }
        elif kind == "AWS::SQS::Queue":
            a = sqs.get_queue_attributes(QueueUrl=pid, AttributeNames=["All"])["Attributes"]
            attrs[lid].update(Arn=a["QueueArn"], QueueName=a["QueueArn"].rsplit(":", 1)[1], QueueUrl=pid)
            queues[lid] = {
                "url": pid,
                "arn": a["QueueArn"],
                "redrive_policy": json.loads(a["RedrivePolicy"]) if "RedrivePolicy" in a else None,
                "visibility_timeout": int(a["VisibilityTimeout"]),
                "message_retention_period": int(a["MessageRetentionPeriod"]),
            }
        elif kind == "AWS::Events::Rule" and "ScheduleExpression" in props:
            targets = props.get("Targets", [])
            if targets:  # see the top of this file
                events.remove_targets(Rule=pid, Ids=[t["Id"] for t in targets])
            schedules[lid] = {
                "rule": pid,
                "schedule": props["ScheduleExpression"],
                "functions": sorted(refs(targets)),
            }
        elif kind == "AWS::DynamoDB::Table":
            # Declared in the template, ignored by moto's CloudFormation.
            if "TimeToLiveSpecification" in props:
                ddb.update_time_to_live(TableName=pid, TimeToLiveSpecification=props["TimeToLiveSpecification"])
            if "PointInTimeRecoverySpecification" in props:
                ddb.update_continuous_backups(
                    TableName=pid, PointInTimeRecoverySpecification=props["PointInTimeRecoverySpecification"])
            t = ddb.describe_table(TableName=pid)["Table"]
            attrs[lid].update(Arn=t["TableArn"], StreamArn=t.get("LatestStreamArn"))
            if lid == "JobsTable":
                stream_arn = t.get("LatestStreamArn")

    event_source_mappings = []
    for lid, r in sorted(mappings.items()):
        p = resolve(r["Properties"], attrs)
        event_source_mappings.append({
            "logical_id": lid,
            "function": r["Properties"]["FunctionName"]["Ref"],
            "function_name": p["FunctionName"],
            "source_arn": p["EventSourceArn"],
            "batch_size": p.get("BatchSize"),
            "function_response_types": p.get("FunctionResponseTypes", []),
            "starting_position": p.get("StartingPosition"),
            "maximum_retry_attempts": p.get("MaximumRetryAttempts"),
            "bisect_batch_on_function_error": p.get("BisectBatchOnFunctionError"),
            "destination_on_failure": p.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"),
            "filter_patterns": [json.loads(f["Pattern"]) for f in p.get("FilterCriteria", {}).get("Filters", [])],
            "enabled": p.get("Enabled", True),
        })
    return {
        "stack": stack["StackName"],
        "stack_id": stack["StackId"],
        "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        "resources": physical,
        "functions": functions,
        "event_source_mappings": event_source_mappings,
        "queues": queues,
        "schedules": schedules,
        "stream_arn": stream_arn,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    ap.add_argument("--stack-name", required=True)
    ap.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE", help="a template parameter (repeatable)")
    ap.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    ap.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    ap.add_argument("--timeout", type=float, default=120, help="seconds to wait for CREATE_COMPLETE")
    args = ap.parse_args()

    # samtranslator reads the region from the environment; moto takes any keys.
    os.environ["AWS_DEFAULT_REGION"] = args.region
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError
        from samtranslator.translator.transform import transform
    except ImportError as e:
        fail(f"Python module {e.name} is missing: `{sys.executable} -m pip install boto3 aws-sam-translator`")

    params: dict[str, str] = {}
    for p in args.parameter:
        key, sep, value = p.partition("=")
        if not sep or not key:
            fail(f"--parameter {p!r}: expected KEY=VALUE")
        params[key] = value
    template = load_template(args.template)
    declared = template.get("Parameters", {})
    if unknown := sorted(set(params) - set(declared)):
        fail(f"unknown parameter(s) {', '.join(unknown)}; {args.template} declares {', '.join(declared)}")
    if missing := [k for k, v in declared.items() if "Default" not in v and k not in params]:
        fail("missing required parameter(s): " + ", ".join(f"--parameter {k}=..." for k in missing))
    for k, v in params.items():  # as CloudFormation would; moto does not check
        spec = declared[k]
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], v):
            fail(f"--parameter {k}={v!r} does not match the template's AllowedPattern {spec['AllowedPattern']}")
        if "AllowedValues" in spec and v not in [str(a) for a in spec["AllowedValues"]]:
            fail(f"--parameter {k}={v!r} is not one of {spec['AllowedValues']}")

    cfg = Config(retries={"max_attempts": 1})
    clients = {s: boto3.client(s, endpoint_url=args.endpoint, region_name=args.region, config=cfg)
               for s in ("s3", "cloudformation", "lambda", "sqs", "dynamodb", "events")}
    try:
        # A placeholder package: the tests run the real binaries themselves,
        # with the environment reported here.
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\necho 'placeholder: run the real binary' >&2\nexit 1\n")
        key = f"{args.stack_name}/placeholder.zip"
        try:
            clients["s3"].create_bucket(Bucket=CODE_BUCKET)
        except ClientError as e:
            if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        clients["s3"].put_object(Bucket=CODE_BUCKET, Key=key, Body=buf.getvalue())

        cf, mappings, skipped = to_cloudformation(template, params, f"s3://{CODE_BUCKET}/{key}", transform)
        stack = create(clients["cloudformation"], args.stack_name, cf, params, args.timeout)
        out = describe(clients, stack, cf, mappings, params)
    except (BotoCoreError, ClientError) as e:
        fail(f"{args.endpoint}: {e}")
    except KeyError as e:
        fail(f"could not resolve {e} in the created stack")

    out["skipped"] = skipped
    json.dump(out, sys.stdout, indent=2, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
