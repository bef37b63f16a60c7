// Translate from Node.js with @grpc/grpc-js and @grpc/proto-loader, from the proto files alone.
// Run from the repository root: node tests/interop/example.mjs localhost:50051
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const definition = protoLoader.loadSync("crosswire/v1/translation.proto", {
  includeDirs: ["proto"], keepCase: true, enums: String, defaults: true, oneofs: true,
});
const { crosswire } = grpc.loadPackageDefinition(definition);
const client = new crosswire.v1.TranslationService(process.argv[2] ?? "localhost:50051",
  grpc.credentials.createInsecure());

const text = "Правительство объявило о мерах 📈. Суд вынес приговор.";
const metadata = new grpc.Metadata();
metadata.set("x-request-id", "example-1"); // echoed in the trailers and written in the server's log
const call = client.Translate({ texts: [text], source_language: "ru" }, metadata,
  { deadline: Date.now() + 30_000 }, (error, response) => {
    if (error) {
      console.error(`${grpc.status[error.code]}: ${error.details}`);
      process.exitCode = 1;
      return;
    }
    for (const segment of response.results[0].segments) {
      // JavaScript strings count UTF-16 units: slice with the *_utf16 offsets.
      console.log(JSON.stringify(text.slice(segment.start_utf16, segment.end_utf16)), "->", segment.translation);
    }
  });
call.on("status", (status) => console.log("request id:", status.metadata.get("x-request-id")[0]));
