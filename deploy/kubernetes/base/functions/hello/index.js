// Tencent SCF style: exports.main_handler(event, context)
exports.main_handler = async (event, context) => {
  return { hello: event.name ?? 'world', requestId: context.requestId };
};
