//! The training worker's entry point (trunk builds it with `data-type="worker"`).

use gloo_worker::Registrable;
use simclr_web::worker::TrainWorker;

fn main() {
    console_error_panic_hook::set_once();
    TrainWorker::registrar().register();
}
