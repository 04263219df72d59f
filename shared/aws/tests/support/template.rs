//! Tables as `template.yaml` declares them, so the tests run against the
//! deployed schema and not a hand-copied one that could drift from it.

use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use skiff_core::yaml::{self, Node};

/// `template.yaml` at the repository root.
pub fn template_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")
}

/// A DynamoDB table's CreateTable input, read from a CloudFormation
/// `AWS::DynamoDB::Table` resource, plus its TTL attribute (which CreateTable
/// does not take).
#[derive(Clone, Debug)]
pub struct TableSpec {
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    pub stream_view_type: Option<StreamViewType>,
    pub ttl_attribute: Option<String>,
}

impl TableSpec {
    /// Creates the table as `name` and turns its TTL on.
    pub async fn create(&self, client: &Client, name: &str) -> Result<(), String> {
        let mut req = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(self.attribute_definitions.clone()))
            .set_key_schema(Some(self.key_schema.clone()));
        if !self.global_secondary_indexes.is_empty() {
            req = req.set_global_secondary_indexes(Some(self.global_secondary_indexes.clone()));
        }
        if let Some(view) = &self.stream_view_type {
            req = req.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(view.clone())
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        req.send().await.map_err(|e| {
            format!(
                "create table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })?;
        if let Some(attr) = &self.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "ttl on {name}: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    )
                })?;
        }
        Ok(())
    }
}

fn field<'a>(node: &'a Node, key: &str, at: &str) -> Result<&'a Node, String> {
    node.get(key)
        .map(|e| &e.value)
        .ok_or_else(|| format!("{at}: no {key}"))
}

fn text<'a>(node: &'a Node, key: &str, at: &str) -> Result<&'a str, String> {
    field(node, key, at)?
        .as_str()
        .ok_or_else(|| format!("{at}.{key}: not a scalar"))
}

fn key_schema(node: &Node, at: &str) -> Result<Vec<KeySchemaElement>, String> {
    field(node, "KeySchema", at)?
        .items()
        .iter()
        .map(|k| {
            let key_type = match text(k, "KeyType", at)? {
                "HASH" => KeyType::Hash,
                "RANGE" => KeyType::Range,
                other => return Err(format!("{at}: KeyType {other} is neither HASH nor RANGE")),
            };
            KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName", at)?)
                .key_type(key_type)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// The table resource `logical_id` of the template at `path`.
pub fn table_from_template(path: &Path, logical_id: &str) -> Result<TableSpec, String> {
    let src = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = yaml::parse(&src).map_err(|e| format!("{}: {e:?}", path.display()))?;
    let resource = field(&doc.root, "Resources", "template")
        .and_then(|r| field(r, logical_id, "Resources"))?;
    let kind = text(resource, "Type", logical_id)?;
    if kind != "AWS::DynamoDB::Table" {
        return Err(format!("{logical_id} is a {kind}, not a DynamoDB table"));
    }
    let props = field(resource, "Properties", logical_id)?;

    let attribute_definitions = field(props, "AttributeDefinitions", logical_id)?
        .items()
        .iter()
        .map(|a| {
            let ty = match text(a, "AttributeType", logical_id)? {
                "S" => ScalarAttributeType::S,
                "N" => ScalarAttributeType::N,
                "B" => ScalarAttributeType::B,
                other => return Err(format!("{logical_id}: AttributeType {other}")),
            };
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName", logical_id)?)
                .attribute_type(ty)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;

    let global_secondary_indexes = match props.get("GlobalSecondaryIndexes") {
        None => Vec::new(),
        Some(e) => e
            .value
            .items()
            .iter()
            .map(|g| {
                let name = text(g, "IndexName", logical_id)?;
                let at = format!("{logical_id}.{name}");
                let projection = field(g, "Projection", &at)?;
                let projection_type = match text(projection, "ProjectionType", &at)? {
                    "ALL" => ProjectionType::All,
                    "KEYS_ONLY" => ProjectionType::KeysOnly,
                    "INCLUDE" => ProjectionType::Include,
                    other => return Err(format!("{at}: ProjectionType {other}")),
                };
                let non_key = projection.get("NonKeyAttributes").map(|e| {
                    e.value
                        .items()
                        .iter()
                        .filter_map(|n| n.as_str().map(String::from))
                        .collect::<Vec<_>>()
                });
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .set_key_schema(Some(key_schema(g, &at)?))
                    .projection(
                        Projection::builder()
                            .projection_type(projection_type)
                            .set_non_key_attributes(non_key)
                            .build(),
                    )
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, String>>()?,
    };

    let stream_view_type = props
        .get("StreamSpecification")
        .map(|e| text(&e.value, "StreamViewType", logical_id))
        .transpose()?
        .map(StreamViewType::from);

    let ttl_attribute = match props.get("TimeToLiveSpecification") {
        Some(e) if e.value.get("Enabled").and_then(|v| v.value.as_str()) == Some("true") => {
            Some(text(&e.value, "AttributeName", logical_id)?.to_string())
        }
        _ => None,
    };

    Ok(TableSpec {
        attribute_definitions,
        key_schema: key_schema(props, logical_id)?,
        global_secondary_indexes,
        stream_view_type,
        ttl_attribute,
    })
}
