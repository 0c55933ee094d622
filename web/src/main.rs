//! The browser app's entry point.

use leptos::prelude::*;
use simclr_web::components::App;

fn main() {
    console_error_panic_hook::set_once();
    mount_to_body(App);
}
