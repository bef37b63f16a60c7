// Translate from Go with stubs generated from proto/ (buf generate proto --template proto/buf.gen.yaml).
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	_ "google.golang.org/genproto/googleapis/rpc/errdetails" // decodes the google.rpc error details
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	crosswirev1 "crosswire/gen/go/crosswire/v1"
)

func main() {
	address := "localhost:50051"
	if len(os.Args) > 1 {
		address = os.Args[1]
	}
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := crosswirev1.NewTranslationServiceClient(conn)

	text := "Правительство объявило о мерах 📈. Суд вынес приговор."
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", "example-1")
	var trailer metadata.MD
	request := &crosswirev1.TranslateRequest{Texts: []string{text}, SourceLanguage: "ru"}
	response, err := client.Translate(ctx, request, grpc.Trailer(&trailer))
	if err != nil {
		s := status.Convert(err)
		log.Fatalf("%s: %s %v (request id %v)", s.Code(), s.Message(), s.Details(), trailer.Get("x-request-id"))
	}
	for _, segment := range response.GetResults()[0].GetSegments() {
		// Go strings are UTF-8 bytes: slice with the *_utf8 offsets.
		fmt.Printf("%q -> %s\n", text[segment.GetStartUtf8():segment.GetEndUtf8()], segment.GetTranslation())
	}
	fmt.Println("request id:", trailer.Get("x-request-id")[0])
}
