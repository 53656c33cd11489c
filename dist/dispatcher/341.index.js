export const id = 341;
export const ids = [341];
export const modules = {

/***/ 2341:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   ClientNodeJobsApi: () => (/* binding */ ClientNodeJobsApi)
/* harmony export */ });
/* harmony import */ var _kubernetes_client_node__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(2901);
/* harmony import */ var _src_core_kube_client_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7122);
// kube.ts: the few Job calls the dispatcher makes, behind a small interface (JobsApi) with its
// implementation over @kubernetes/client-node beside it. Errors are the core's KubeApiError.


/** ClientNodeJobsApi is the JobsApi over a KubeConfig (GKE with a refreshed token, or a file). */
class ClientNodeJobsApi {
    #kube;
    #batch;
    constructor(kc) {
        this.#kube = new _src_core_kube_client_js__WEBPACK_IMPORTED_MODULE_1__/* .ClientNodeKubeApi */ .H(kc);
        this.#batch = kc.makeApiClient(_kubernetes_client_node__WEBPACK_IMPORTED_MODULE_0__/* .BatchV1Api */ .Q8C);
    }
    createJob(namespace, job) {
        return this.#kube.createJob(namespace, job);
    }
    listJobs(namespace, labelSelector) {
        return this.#kube.listJobs(namespace, labelSelector);
    }
    async patchJob(namespace, name, patch) {
        try {
            return await this.#batch.patchNamespacedJob({ namespace, name, body: patch }, (0,_kubernetes_client_node__WEBPACK_IMPORTED_MODULE_0__/* .setHeaderOptions */ .OkF)('Content-Type', _kubernetes_client_node__WEBPACK_IMPORTED_MODULE_0__/* .PatchStrategy */ .Qve.MergePatch));
        }
        catch (err) {
            throw (0,_src_core_kube_client_js__WEBPACK_IMPORTED_MODULE_1__/* .toKubeApiError */ .V)(err, `patch Job ${namespace}/${name}`);
        }
    }
    deleteJob(namespace, name, propagation = 'Background') {
        return this.#kube.deleteJob(namespace, name, propagation);
    }
}


/***/ })

};
