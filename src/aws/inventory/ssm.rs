//! SSM targets: EC2 instances whose SSM agent is online (SSM `DescribeInstanceInformation`),
//! joined with EC2 `DescribeInstances` for VPC, subnet and `Name` tag, so each database can be
//! offered tunnel targets in its own VPC first.

use std::collections::HashMap;

use super::model::SsmTarget;
use crate::aws::error::AwsCallError;

/// EC2 `DescribeInstances` accepts at most this many ids per call when filtering by id.
const EC2_IDS_PER_CALL: usize = 100;

/// All managed EC2 instances with their network placement, sorted by instance id. A failed EC2
/// call still returns the targets (without VPC) plus its error.
pub async fn targets(
    ssm: &aws_sdk_ssm::Client,
    ec2: &aws_sdk_ec2::Client,
    region: &str,
) -> Result<(Vec<SsmTarget>, Option<AwsCallError>), AwsCallError> {
    let mut pages = ssm
        .describe_instance_information()
        .max_results(50)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| {
            AwsCallError::from_sdk("ssm:DescribeInstanceInformation", region, &error)
        })?;
        for info in page.instance_information_list() {
            let Some(instance_id) = info.instance_id() else {
                continue;
            };
            // Hybrid (on-premises) nodes are `mi-…`; only EC2 instances can be tunnel targets here.
            if !instance_id.starts_with("i-") {
                continue;
            }
            out.push(SsmTarget {
                instance_id: instance_id.to_owned(),
                region: region.to_owned(),
                name: info.computer_name().map(str::to_owned),
                vpc_id: None,
                subnet_id: None,
                private_ip: info.ip_address().map(str::to_owned),
                ping_status: info.ping_status().map(|status| status.as_str().to_owned()),
                platform: info
                    .platform_type()
                    .map(|platform| platform.as_str().to_owned()),
                agent_version: info.agent_version().map(str::to_owned),
            });
        }
    }
    out.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    let error = match placements(ec2, region, &out).await {
        Ok(placements) => {
            for target in &mut out {
                if let Some(placement) = placements.get(&target.instance_id) {
                    target.vpc_id.clone_from(&placement.vpc_id);
                    target.subnet_id.clone_from(&placement.subnet_id);
                    target.private_ip = placement.private_ip.clone().or(target.private_ip.take());
                    if placement.name.is_some() {
                        target.name.clone_from(&placement.name);
                    }
                }
            }
            None
        }
        Err(error) => Some(error),
    };
    Ok((out, error))
}

struct Placement {
    vpc_id: Option<String>,
    subnet_id: Option<String>,
    private_ip: Option<String>,
    name: Option<String>,
}

async fn placements(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    targets: &[SsmTarget],
) -> Result<HashMap<String, Placement>, AwsCallError> {
    let mut out = HashMap::new();
    for chunk in targets.chunks(EC2_IDS_PER_CALL) {
        let ids: Vec<String> = chunk
            .iter()
            .map(|target| target.instance_id.clone())
            .collect();
        let mut pages = ec2
            .describe_instances()
            .set_instance_ids(Some(ids))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|error| AwsCallError::from_sdk("ec2:DescribeInstances", region, &error))?;
            for instance in page
                .reservations()
                .iter()
                .flat_map(aws_sdk_ec2::types::Reservation::instances)
            {
                let Some(id) = instance.instance_id() else {
                    continue;
                };
                let name = instance
                    .tags()
                    .iter()
                    .find(|tag| tag.key() == Some("Name"))
                    .and_then(|tag| tag.value())
                    .map(str::to_owned);
                out.insert(
                    id.to_owned(),
                    Placement {
                        vpc_id: instance.vpc_id().map(str::to_owned),
                        subnet_id: instance.subnet_id().map(str::to_owned),
                        private_ip: instance.private_ip_address().map(str::to_owned),
                        name,
                    },
                );
            }
        }
    }
    Ok(out)
}
