// AWS Lambda style: exports.handler(event, context). Logs go to GET /v1/functions/lambda-echo/logs.
exports.handler = async (event, context) => {
  console.log('echo', JSON.stringify(event));
  return { event, function: context.functionName, remainingMs: context.getRemainingTimeInMillis() };
};
