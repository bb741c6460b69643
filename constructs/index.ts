export * from "./escape";
export * from "./instance-model";
export * from "./jaws-service";
export * from "./render";
export * from "./service-model";
export * from "./supervisor-instance";
export * from "./validate";
export * from "./values";
