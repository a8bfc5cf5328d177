"""The code that ships inside the function: tokenizer, artifact loading, numpy forward
passes, the service core and the Lambda handler. stdlib + numpy only (plus ``store/``)."""
