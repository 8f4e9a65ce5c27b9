//! The bench's ceiling (`bench/run.sh`, `BENCH_ONLY=limit`): a bare salvo handler on the same salvo,
//! tokio runtime and server settings as `mock-rest-api`, that answers every request, whatever its method
//! and path, with one fixed JSON text after reading the request's body. No engine, no logging, no lock.
//! Not part of the shipped binary.
//!
//! `cargo run --release --example bare -- PORT BODY`

use salvo::prelude::*;

struct Fixed(&'static str);

#[handler]
impl Fixed {
    async fn handle(&self, req: &mut salvo::Request, res: &mut salvo::Response) {
        // Read the body as the server does, so a POST costs its upload here too.
        let _ = req.payload().await;
        res.headers_mut().insert(
            salvo::http::header::CONTENT_TYPE,
            salvo::http::HeaderValue::from_static("application/json"),
        );
        res.body(salvo::http::ResBody::Once(
            self.0.as_bytes().to_vec().into(),
        ));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let body: &'static str = Box::leak(
        args.next()
            .unwrap_or_else(|| "{}".to_owned())
            .into_boxed_str(),
    );
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        eprintln!("bare: no runtime");
        std::process::exit(1);
    };
    runtime.block_on(async move {
        let acceptor = TcpListener::new(("127.0.0.1", port)).bind().await;
        let router = Router::with_path("{**path}").goal(Fixed(body));
        Server::new(acceptor).serve(router).await;
    });
}
