"""Packaging and deployment of the function to AWS Lambda (tooling layer).

    target.py       the Lambda runtime a package is built for (Python, architecture, glibc)
    contents.py     which millicent modules ship in the function, and what counts as junk
    wheels.py       manylinux wheels for the target: fetched with pip, unpacked without junk
    sizes.py        per-component size report and Lambda's package limits
    package.py      ``build_package``: the Lambda zip (+ its Dockerfile)
    dockerfile.py   the container-image variant, built from the very same zip
    template.py     the CloudFormation template (function, URL or HTTP API, table, role)
    stack.py        deploy / destroy with boto3 (CloudFormation, S3), embeddings loaded

Nothing here ships inside the function.
"""
