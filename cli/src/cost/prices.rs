//! AWS list prices the cost model uses, one region at a time, as dated below.
//! On-demand, no free tier (a CI account outgrows it), no savings plans.
//! Each price names the page it was read from; `skiff cost` prints the date
//! so a reader knows how old the table is.

/// When the table was last checked against the pages below.
pub const AS_OF: &str = "2025-06 list prices (re-check the pages below before relying on them)";

/// The prices of one region, in US dollars.
#[derive(Clone, Copy, Debug)]
pub struct Prices {
    pub region: &'static str,
    /// Lambda, arm64 (what template.yaml deploys), per GB-second.
    /// https://aws.amazon.com/lambda/pricing/
    pub lambda_gb_second: f64,
    /// Lambda, per million requests. Same page.
    pub lambda_million_requests: f64,
    /// SQS standard queue, per million requests (64 KB chunks).
    /// https://aws.amazon.com/sqs/pricing/
    pub sqs_million_requests: f64,
    /// DynamoDB on-demand, per million write request units.
    /// https://aws.amazon.com/dynamodb/pricing/on-demand/
    pub dynamodb_million_writes: f64,
    /// DynamoDB on-demand, per million read request units. Same page.
    pub dynamodb_million_reads: f64,
    /// DynamoDB Standard table class storage, per GB-month. Same page.
    pub dynamodb_gb_month: f64,
    /// S3 Standard, per 1,000 PUT/COPY/POST/LIST requests.
    /// https://aws.amazon.com/s3/pricing/
    pub s3_thousand_puts: f64,
    /// S3 Standard, per 1,000 GET/SELECT requests. Same page.
    pub s3_thousand_gets: f64,
    /// S3 Standard storage, first 50 TB, per GB-month. Same page.
    pub s3_gb_month: f64,
    /// CloudWatch Logs ingestion (standard class), per GB.
    /// https://aws.amazon.com/cloudwatch/pricing/
    pub logs_ingest_gb: f64,
    /// CloudWatch Logs storage, per GB-month. Same page.
    pub logs_gb_month: f64,
    /// EventBridge scheduled rules (template.yaml's `Type: Schedule`): no
    /// charge per scheduled event. https://aws.amazon.com/eventbridge/pricing/
    pub eventbridge_million_scheduled: f64,
    /// EKS standard support, per cluster-hour. https://aws.amazon.com/eks/pricing/
    pub eks_cluster_hour: f64,
    /// EC2 m6i.large on-demand Linux (2 vCPU, 8 GiB), per hour.
    /// https://aws.amazon.com/ec2/pricing/on-demand/
    pub ec2_m6i_large_hour: f64,
    /// Application Load Balancer, per hour (plus LCUs, counted as one).
    /// https://aws.amazon.com/elasticloadbalancing/pricing/
    pub alb_hour: f64,
    /// ALB, per LCU-hour. Same page.
    pub alb_lcu_hour: f64,
    /// EBS gp3, per GB-month (ghproxy's cache disk).
    /// https://aws.amazon.com/ebs/pricing/
    pub ebs_gp3_gb_month: f64,
}

/// The regions the table has.
pub const REGIONS: &[Prices] = &[
    Prices {
        region: "us-east-1",
        lambda_gb_second: 0.000_013_333_4,
        lambda_million_requests: 0.20,
        sqs_million_requests: 0.40,
        dynamodb_million_writes: 0.625,
        dynamodb_million_reads: 0.125,
        dynamodb_gb_month: 0.25,
        s3_thousand_puts: 0.005,
        s3_thousand_gets: 0.000_4,
        s3_gb_month: 0.023,
        logs_ingest_gb: 0.50,
        logs_gb_month: 0.03,
        eventbridge_million_scheduled: 0.0,
        eks_cluster_hour: 0.10,
        ec2_m6i_large_hour: 0.096,
        alb_hour: 0.022_5,
        alb_lcu_hour: 0.008,
        ebs_gp3_gb_month: 0.08,
    },
    Prices {
        region: "eu-west-1",
        lambda_gb_second: 0.000_013_333_4,
        lambda_million_requests: 0.20,
        sqs_million_requests: 0.40,
        dynamodb_million_writes: 0.705_3,
        dynamodb_million_reads: 0.141,
        dynamodb_gb_month: 0.283,
        s3_thousand_puts: 0.005,
        s3_thousand_gets: 0.000_4,
        s3_gb_month: 0.023,
        logs_ingest_gb: 0.57,
        logs_gb_month: 0.03,
        eventbridge_million_scheduled: 0.0,
        eks_cluster_hour: 0.10,
        ec2_m6i_large_hour: 0.107,
        alb_hour: 0.025_2,
        alb_lcu_hour: 0.008,
        ebs_gp3_gb_month: 0.088,
    },
];

/// The prices of `region`, or the regions the table has.
pub fn of(region: &str) -> Result<&'static Prices, String> {
    REGIONS.iter().find(|p| p.region == region).ok_or_else(|| {
        let known: Vec<&str> = REGIONS.iter().map(|p| p.region).collect();
        format!(
            "no prices for region {region:?} (the table has {})",
            known.join(", ")
        )
    })
}
